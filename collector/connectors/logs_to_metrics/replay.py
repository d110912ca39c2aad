"""Rules run offline over buffers of lines: the core of ``fathom replay`` and of the benchmark."""

from __future__ import annotations

import time
from typing import Iterable

from collector.connectors.logs_to_metrics.config import Config
from collector.connectors.logs_to_metrics.connector import Pipeline
from collector.pdata import LineChunk, Logs, Metrics


def replay(config: Config, buffers: Iterable[bytes], now_ns: int | None = None) -> tuple[Metrics, dict[str, int]]:
    """Run newline-separated buffers through the rules; the metrics and bad-record counts by reason.

    Each buffer must end at a line boundary (a trailing newline is fine).
    """
    now = time.time_ns() if now_ns is None else now_ns
    pipeline = Pipeline(config)
    bad: dict[str, int] = {}
    for data in buffers:
        pipeline.consume(Logs(chunks=[LineChunk(data, data.count(b"\n") + 1)]), now)
        for reason, n in pipeline.pop_bad().items():
            bad[reason] = bad.get(reason, 0) + n
    return pipeline.flush(now), bad
