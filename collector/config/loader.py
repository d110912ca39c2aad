"""The operator's config files to one plain, expanded config with a source position for every key.

Files are parsed one by one (YAML, duplicate keys, ``${env:...}`` references,
known top-level sections), then merged in order. Every problem in every file
is collected before :class:`ConfigErrors` is raised, so one ``fathom
validate`` run lists them all. Component and pipeline checks are done on top
of the result, by the service, using :meth:`LoadedConfig.position`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from collector.config.envexpand import expand
from collector.config.issues import ConfigErrors, ConfigIssue, Path, Position, suggest
from collector.config.merge import merge_into
from collector.config.parse import ParsedYaml, parse_yaml

#: The top-level sections of a config, as in the OpenTelemetry Collector.
SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions", "service")


@dataclass
class LoadedConfig:
    """The merged config; it owns ``data``, which callers may read but should not change."""

    #: merged, expanded plain data: dict, list, str, int, float, bool, None
    data: dict[str, Any]
    #: position of every mapping key and every sequence item (and ``()`` for the root)
    positions: dict[Path, Position]
    files: list[str]
    #: problems that do not stop the collector, such as an unset environment variable
    warnings: list[ConfigIssue] = field(default_factory=list)
    #: the text as written of every value that held a ``${...}`` reference
    references: dict[Path, str] = field(default_factory=dict)

    def position(self, path: Path) -> Position | None:
        """Where ``path`` is written, or its nearest written ancestor (for a missing key)."""
        for depth in range(len(path), -1, -1):
            position = self.positions.get(path[:depth])
            if position is not None:
                return position
        return None


def load_config(paths: Sequence[str], env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, check and merge ``paths`` in order; ``env`` defaults to ``os.environ``.

    Raises :class:`ConfigErrors` listing every problem found in every file.
    """
    if not paths:
        raise ConfigErrors([ConfigIssue((), "no config file given")])
    sources: list[tuple[str, str]] = []
    unreadable: list[ConfigIssue] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8-sig") as file:
                sources.append((file.read(), path))
        except OSError as exc:
            unreadable.append(ConfigIssue((), f'cannot read config file "{path}": {exc.strerror}'))
        except UnicodeDecodeError as exc:
            unreadable.append(ConfigIssue((), f'cannot read config file "{path}": not UTF-8 text ({exc.reason})'))
    return _load(sources, os.environ if env is None else env, unreadable)


def load_config_text(text: str, name: str = "<string>", env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Like :func:`load_config` for text already in memory (tests, the embedded default)."""
    return _load([(text, name)], os.environ if env is None else env, [])


def _load(sources: Sequence[tuple[str, str]], env: Mapping[str, str], issues: list[ConfigIssue]) -> LoadedConfig:
    loaded = LoadedConfig({}, {}, [])
    for text, name in sources:
        loaded.files.append(name)
        expander = _Expander(env)
        parsed = parse_yaml(text, name, expander)
        issues += parsed.issues
        loaded.warnings += expander.warnings
        if parsed.data is None:
            continue  # an empty file, or one whose syntax error is already reported
        if not isinstance(parsed.data, dict):
            issues.append(_not_a_mapping(parsed))
            continue
        issues += _unknown_sections(parsed)
        loaded.positions.setdefault((), parsed.positions[()])
        facts = [(loaded.positions, parsed.positions), (loaded.references, expander.references)]
        merge_into(loaded.data, parsed.data, facts)
    if issues:
        raise ConfigErrors(issues)
    return loaded


class _Expander:
    """The string hook for one file: expands references, keeps warnings and the written text."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.warnings: list[ConfigIssue] = []
        self.references: dict[Path, str] = {}

    def __call__(self, text: str, plain: bool, path: Path, position: Position) -> Any:
        expansion = expand(text, self.env, plain)
        if expansion.referenced:
            self.references[path] = text
        for name in expansion.unset:
            self.warnings.append(ConfigIssue(path, f'environment variable "{name}" is not set; using ""', position))
        return expansion.value


def _not_a_mapping(parsed: ParsedYaml) -> ConfigIssue:
    kind = "a list" if isinstance(parsed.data, list) else f"the value {parsed.data!r}"
    message = f"the top level must be a mapping of sections ({', '.join(SECTIONS)}), not {kind}"
    return ConfigIssue((), message, parsed.positions[()])


def _unknown_sections(parsed: ParsedYaml) -> list[ConfigIssue]:
    return [
        ConfigIssue((key,), f'unknown top-level key "{key}"', parsed.positions[(key,)], suggest(key, SECTIONS))
        for key in parsed.data
        if key not in SECTIONS
    ]
