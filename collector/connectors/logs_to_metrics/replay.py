"""Rules run offline over buffers of lines: the core of ``fathom replay`` and of the benchmark."""

from __future__ import annotations

import time
from typing import Callable, Iterable

from collector.connectors.logs_to_metrics.config import Config
from collector.connectors.logs_to_metrics.connector import Pipeline
from collector.pdata import Metrics


def replay(config: Config, buffers: Iterable[bytes | memoryview], now_ns: int | None = None,
           on_block: Callable[[int, int], None] | None = None) -> tuple[Metrics, dict[str, int]]:
    """Run newline-separated buffers through the rules; the metrics and bad-record counts by reason.

    Each buffer holds whole lines (a trailing newline is fine). ``on_block``
    is told each buffer's lines and bytes as it is done, for progress.
    """
    now = time.time_ns() if now_ns is None else now_ns
    pipeline = Pipeline(config)
    bad: dict[str, int] = {}
    for data in buffers:
        lines = pipeline.consume_lines(data, now)
        for reason, n in pipeline.pop_bad().items():
            bad[reason] = bad.get(reason, 0) + n
        if on_block is not None:
            on_block(lines, len(data) + 1)
    return pipeline.flush(now), bad
