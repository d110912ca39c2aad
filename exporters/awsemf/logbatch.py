"""EMF events grouped into PutLogEvents requests that the API accepts.

The API's rules: at most 10,000 events and 1,048,576 bytes per request
(each event's UTF-8 message plus :data:`collector.emf.EVENT_OVERHEAD_BYTES`,
26), events in time order, the
first and last less than 24 hours apart, and no event more than 14 days old or
2 hours ahead. Events outside that window are dropped here and counted,
instead of being sent to be rejected.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from collector.emf import EVENT_OVERHEAD_BYTES
from exporters.awsemf.events import LogEvent, Partition

MAX_EVENTS = 10_000
MAX_BYTES = 1_048_576
MAX_SPAN_MS = 24 * 3600 * 1000
MAX_AGE_MS = 14 * 24 * 3600 * 1000
MAX_AHEAD_MS = 2 * 3600 * 1000


@dataclass(slots=True)
class LogBatch:
    """One PutLogEvents request."""

    group: str
    stream: str
    events: list[LogEvent]

    @property
    def points(self) -> int:
        return sum(e.points for e in self.events)


def batches(partitions: dict[Partition, list[LogEvent]], dropped: Counter[str],
            now_ms: int | None = None) -> list[LogBatch]:
    """Requests for every partition, in time order within each."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    oldest, newest = now_ms - MAX_AGE_MS, now_ms + MAX_AHEAD_MS
    out = []
    for (group, stream), events in partitions.items():
        current: list[LogEvent] = []
        size = 0
        for event in sorted(events, key=lambda e: e.timestamp):
            if event.timestamp < oldest or event.timestamp > newest:
                dropped["too_old" if event.timestamp < oldest else "too_far_ahead"] += event.points
                continue
            cost = event.size + EVENT_OVERHEAD_BYTES
            if current and (len(current) >= MAX_EVENTS or size + cost > MAX_BYTES
                            or event.timestamp - current[0].timestamp >= MAX_SPAN_MS):
                out.append(LogBatch(group, stream, current))
                current, size = [], 0
            current.append(event)
            size += cost
        if current:
            out.append(LogBatch(group, stream, current))
    return out
