"""The last warnings and errors the collector logged, for the status page.

A bounded ring buffer behind a logging handler on the ``fathom`` logger:
attaching it costs one deque append per warning, and it holds at most
``size`` records whatever the error rate.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any


class RecentErrors(logging.Handler):
    def __init__(self, size: int) -> None:
        super().__init__(logging.WARNING)
        self._records: deque[dict[str, Any]] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = str(record.msg)
        self._records.append({"time": record.created, "level": record.levelname.lower(),
                              "logger": record.name, "message": message})

    def recent(self) -> list[dict[str, Any]]:
        """Newest first."""
        return list(reversed(self._records))
