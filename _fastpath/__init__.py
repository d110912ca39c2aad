"""Picks the compiled fast path or its pure-Python twin, once, on first use.

``FATHOM_NO_EXTENSIONS=1`` (or a non-CPython interpreter) selects the twin;
otherwise the compiled module is used when it was built. Both stay
importable by name: ``_fastpath._scan`` and
``collector.connectors.logs_to_metrics.scan_py``; ``_fastpath._otlp_metrics``
and the ``*_py`` functions of ``collector.pdata.otlp_metrics``.

Each choice is made when its name is first read (PEP 562), so a config
without ``logs_to_metrics`` never imports the connector for its scanner.
"""

from __future__ import annotations

import os
import platform
from types import ModuleType
from typing import TYPE_CHECKING, Any

NO_EXTENSIONS = bool(os.environ.get("FATHOM_NO_EXTENSIONS")) or platform.python_implementation() != "CPython"

if TYPE_CHECKING:
    from collector.connectors.logs_to_metrics.scan_py import Scanner as JsonScanner

    #: True when the compiled scanner is in use.
    COMPILED: bool
    #: The compiled OTLP metrics codec, or None (its twin is collector.pdata.otlp_metrics's Python code).
    otlp_metrics_codec: ModuleType | None
    #: True when the compiled OTLP metrics codec is in use.
    COMPILED_METRICS_CODEC: bool


def _scanner() -> dict[str, Any]:
    scanner: Any = None
    if not NO_EXTENSIONS:
        try:
            from _fastpath._scan import JsonScanner as scanner
        except ImportError:
            pass
    if scanner is None:
        from collector.connectors.logs_to_metrics.scan_py import Scanner as scanner
    return {"JsonScanner": scanner, "COMPILED": scanner.__module__ == "_fastpath._scan"}


def _metrics_codec() -> dict[str, Any]:
    codec: ModuleType | None = None
    if not NO_EXTENSIONS:
        try:
            from _fastpath import _otlp_metrics as codec
        except ImportError:
            pass
    return {"otlp_metrics_codec": codec, "COMPILED_METRICS_CODEC": codec is not None}


_CHOICES = {"JsonScanner": _scanner, "COMPILED": _scanner,
            "otlp_metrics_codec": _metrics_codec, "COMPILED_METRICS_CODEC": _metrics_codec}


def __getattr__(name: str) -> Any:
    choose = _CHOICES.get(name)
    if choose is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals().update(choose())
    return globals()[name]


__all__ = ["COMPILED", "COMPILED_METRICS_CODEC", "JsonScanner", "NO_EXTENSIONS", "otlp_metrics_codec"]
