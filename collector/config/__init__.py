"""Config files to plain data with source positions, and config errors that say where and why.

See :mod:`collector.config.envexpand` for the ``${env:VAR}`` rules.
"""

from collector.config.issues import ConfigErrors, ConfigIssue, Path, Position, format_path, suggest
from collector.config.loader import SECTIONS, LoadedConfig, load_config, load_config_text
from collector.config.redact import REDACTED, is_secret_key, redact
from collector.config.validation import issues_from_validation

__all__ = [
    "REDACTED",
    "SECTIONS",
    "ConfigErrors",
    "ConfigIssue",
    "LoadedConfig",
    "Path",
    "Position",
    "format_path",
    "is_secret_key",
    "issues_from_validation",
    "load_config",
    "load_config_text",
    "redact",
    "suggest",
]
