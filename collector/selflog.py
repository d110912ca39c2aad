"""The collector's own logs: one JSON object per line on stderr, sampled when noisy.

A dead backend or a flood of bad input produces the same message thousands
of times a second. Like the OpenTelemetry Collector's zap sampler, each
distinct message (by logger and format string) is logged for its first
``initial`` occurrences in a one-second tick, then only every
``thereafter``-th; the next line logged says how many were dropped.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

# Attributes every LogRecord has; anything else came in through ``extra=``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class SamplingFilter(logging.Filter):
    def __init__(self, initial: int = 10, thereafter: int = 100, tick: float = 1.0) -> None:
        super().__init__()
        self.initial, self.thereafter, self.tick = initial, thereafter, tick
        self._counts: dict[tuple[str, str], int] = {}
        self._dropped: dict[tuple[str, str], int] = {}
        self._tick_start = time.monotonic()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.CRITICAL:
            return True
        now = time.monotonic()
        if now - self._tick_start >= self.tick:
            self._tick_start = now
            self._counts.clear()
        key = (record.name, str(record.msg))
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if n <= self.initial or (n - self.initial) % self.thereafter == 0:
            dropped = self._dropped.pop(key, 0)
            if dropped:
                record.sampled_out = dropped
            return True
        self._dropped[key] = self._dropped.get(key, 0) + 1
        return False


def configure(level: str = "info", encoding: str = "json") -> None:
    """Route every ``fathom.*`` logger to stderr. Only the CLI calls this."""
    handler = logging.StreamHandler(sys.stderr)
    if encoding == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SamplingFilter())
    root = logging.getLogger("fathom")
    root.handlers[:] = [handler]
    root.setLevel({"warn": "WARNING"}.get(level.lower(), level.upper()))
    root.propagate = False
