"""Cumulative series turned into deltas, with per-series state.

CloudWatch aggregates what it receives within each period, so a counter
must arrive as "how much since the last report", not as a running total.
For every cumulative series this keeps the last total and reports the
difference. As the OpenTelemetry data model asks, a point whose start time
differs from the stored one begins a new series (the producer restarted):
its whole value is the delta. Without start times, a total that went down
is taken as a reset too.

Unlike the OpenTelemetry Collector's awsemf exporter, which silently drops
the first point of every series, the first value is reported by default
(``retain_initial``): it is the amount counted since the series started.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Hashable, Mapping

#: Series not updated for this long are forgotten, so that state stays bounded.
STATE_TTL = 3600.0


@dataclass(slots=True)
class Totals:
    """A cumulative snapshot: a number (``value``) or a distribution (count, sum, buckets)."""

    value: float = 0.0
    count: float = 0.0
    sum: float = 0.0
    #: bucket key (an index, or a sign and index) -> count; keys absent count as zero
    buckets: Mapping[Hashable, float] | None = None


@dataclass(slots=True)
class _State:
    start_ns: int
    time_ns: int
    layout: Hashable
    totals: Totals
    seen: float


class DeltaTracker:
    """Thread-safe: translations run in worker threads, several at once."""

    def __init__(self, retain_initial: bool, ttl: float = STATE_TTL) -> None:
        self._retain_initial = retain_initial
        self._ttl = ttl
        self._series: dict[Hashable, _State] = {}
        self._lock = threading.Lock()
        self._last_sweep = time.monotonic()

    def __len__(self) -> int:
        return len(self._series)

    def delta(self, key: Hashable, start_ns: int, time_ns: int, totals: Totals,
              layout: Hashable = None) -> tuple[Totals | None, str | None]:
        """The change since the series' last point: ``(delta, None)``, or ``(None, reason)``
        when nothing is to be reported (``reason`` names why, for the drop counter).

        ``layout`` identifies bucket boundaries; a different layout restarts the series.
        """
        now = time.monotonic()
        with self._lock:
            if now - self._last_sweep > self._ttl / 4:
                self._sweep(now)
            prev = self._series.get(key)
            if prev is not None and time_ns <= prev.time_ns:
                return None, "duplicate" if time_ns == prev.time_ns else "out_of_order"
            self._series[key] = _State(start_ns, time_ns, layout, totals, now)
        if prev is None:
            return (totals, None) if self._retain_initial else (None, "initial_value")
        restarted = (start_ns and prev.start_ns and start_ns != prev.start_ns) or layout != prev.layout
        if restarted or _went_down(prev.totals, totals):
            return totals, None
        return _subtract(totals, prev.totals), None

    def _sweep(self, now: float) -> None:
        expired = [key for key, state in self._series.items() if now - state.seen > self._ttl]
        for key in expired:
            del self._series[key]
        self._last_sweep = now


def _went_down(prev: Totals, cur: Totals) -> bool:
    return cur.value < prev.value or cur.count < prev.count


def _subtract(cur: Totals, prev: Totals) -> Totals:
    buckets = None
    if cur.buckets is not None:
        old = prev.buckets or {}
        buckets = {k: c - old.get(k, 0) for k, c in cur.buckets.items() if c - old.get(k, 0)}
    return Totals(cur.value - prev.value, cur.count - prev.count, cur.sum - prev.sum, buckets)
