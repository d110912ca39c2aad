"""Picks the compiled fast path or its pure-Python twin, once, at import.

``FATHOM_NO_EXTENSIONS=1`` (or a non-CPython interpreter) selects the twin;
otherwise the compiled module is used when it was built. Both stay
importable by name: ``_fastpath._scan`` and
``collector.connectors.logs_to_metrics.scan_py``; ``_fastpath._otlp_metrics``
and the ``*_py`` functions of ``collector.pdata.otlp_metrics``.
"""

from __future__ import annotations

import os
import platform
from types import ModuleType
from typing import TYPE_CHECKING

NO_EXTENSIONS = bool(os.environ.get("FATHOM_NO_EXTENSIONS")) or platform.python_implementation() != "CPython"

if TYPE_CHECKING:
    from collector.connectors.logs_to_metrics.scan_py import Scanner as JsonScanner
else:
    if not NO_EXTENSIONS:
        try:
            from _fastpath._scan import JsonScanner
        except ImportError:
            from collector.connectors.logs_to_metrics.scan_py import Scanner as JsonScanner
    else:
        from collector.connectors.logs_to_metrics.scan_py import Scanner as JsonScanner

#: True when the compiled scanner is in use.
COMPILED = JsonScanner.__module__ == "_fastpath._scan"

# The compiled OTLP metrics codec, or None; its twin is the Python code of
# collector.pdata.otlp_metrics, which picks one of the two at its import.
otlp_metrics_codec: ModuleType | None = None
if not NO_EXTENSIONS:
    try:
        from _fastpath import _otlp_metrics as otlp_metrics_codec
    except ImportError:
        pass

#: True when the compiled OTLP metrics codec is in use.
COMPILED_METRICS_CODEC = otlp_metrics_codec is not None

__all__ = ["COMPILED", "COMPILED_METRICS_CODEC", "JsonScanner", "NO_EXTENSIONS", "otlp_metrics_codec"]
