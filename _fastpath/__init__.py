"""Picks the compiled fast path or its pure-Python twin, once, at import.

``FATHOM_NO_EXTENSIONS=1`` (or a non-CPython interpreter) selects the twin;
otherwise the compiled module is used when it was built. Both stay
importable by name: ``_fastpath._scan`` and
``collector.connectors.logs_to_metrics.scan_py``.
"""

from __future__ import annotations

import os
import platform
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

__all__ = ["COMPILED", "JsonScanner", "NO_EXTENSIONS"]
