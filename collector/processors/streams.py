"""Per-series state for metric processors: series identity, a bounded expiring table, point arithmetic.

Shared by ``cumulativetodelta``, ``deltatocumulative`` and
``cardinality_limiter``, which all keep something per series (a stream, in
the OpenTelemetry data model's words) and must not grow without bound.

A stream is identified by resource attributes, scope, metric name and type,
and the point's attributes. Sums and explicit-bucket histograms have
arithmetic here (``subtract`` for cumulative-to-delta, ``add`` for
accumulation); other point types are not converted by these processors.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Callable, Generic, Hashable, Iterator, Mapping, TypeVar

from collector.pdata import metrics as m

V = TypeVar("V")


def freeze(attrs: Mapping[str, Any]) -> tuple:
    """A hashable, order-independent form of an attribute map (lists and maps by their repr)."""
    return tuple(sorted((k, v if isinstance(v, Hashable) else repr(v)) for k, v in attrs.items()))


def stream_key(rm: m.ResourceMetrics, sm: m.ScopeMetrics, metric: m.Metric, attrs: Mapping[str, Any]) -> tuple:
    return (freeze(rm.resource.attributes), sm.scope.name, sm.scope.version, metric.name, metric.type,
            freeze(attrs))


class StreamTable(Generic[V]):
    """At most ``max_streams`` entries; the least recently updated goes first, and idle ones expire.

    ``max_idle`` is in seconds (0: never expire); ``clock`` is monotonic and
    replaceable in tests.
    """

    def __init__(self, max_streams: int, max_idle: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_streams = max_streams
        self.max_idle = max_idle
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self.evicted = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value``, marking the stream as just updated; may evict the stalest stream."""
        self._entries[key] = (self.clock(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_streams:
            self._entries.popitem(last=False)
            self.evicted += 1

    def touch(self, key: Hashable) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            self.put(key, entry[1])

    def expire(self) -> list[tuple[Hashable, V]]:
        """Drop and return streams not updated for ``max_idle`` seconds."""
        if not self.max_idle:
            return []
        cutoff = self.clock() - self.max_idle
        gone = []
        while self._entries:
            key, (seen, value) = next(iter(self._entries.items()))
            if seen > cutoff:
                break
            del self._entries[key]
            gone.append((key, value))
        self.expired += len(gone)
        return gone

    def items(self) -> Iterator[tuple[Hashable, V]]:
        for key, (_, value) in self._entries.items():
            yield key, value


def convertible(metric: m.Metric) -> bool:
    """Sums and explicit-bucket histograms: the types whose temporality these processors change."""
    return metric.type in (m.MetricType.SUM, m.MetricType.HISTOGRAM)


def is_reset(prev: m.Point, cur: m.Point, monotonic: bool) -> bool:
    """A new start time, or a monotonic total that went down, means the source restarted."""
    if cur.start_time_ns and prev.start_time_ns and cur.start_time_ns != prev.start_time_ns:
        return True
    if isinstance(cur, m.NumberPoint):
        return monotonic and cur.value < prev.value  # type: ignore[union-attr]
    assert isinstance(cur, m.HistogramPoint) and isinstance(prev, m.HistogramPoint)
    return cur.count < prev.count or cur.bounds != prev.bounds


def subtract(cur: m.Point, prev: m.Point) -> m.Point:
    """``cur - prev`` as a delta point covering (prev.time, cur.time]."""
    if isinstance(cur, m.NumberPoint):
        return m.NumberPoint(cur.attributes, cur.time_ns, cur.value - prev.value, prev.time_ns,  # type: ignore[union-attr]
                             cur.exemplars, cur.flags)
    assert isinstance(cur, m.HistogramPoint) and isinstance(prev, m.HistogramPoint)
    return m.HistogramPoint(
        cur.attributes, cur.time_ns, cur.count - prev.count,
        None if cur.sum is None or prev.sum is None else cur.sum - prev.sum,
        cur.bounds, [a - b for a, b in zip(cur.bucket_counts, prev.bucket_counts)], prev.time_ns,
        exemplars=cur.exemplars, flags=cur.flags,
    )


def add(total: m.Point | None, delta: m.Point, attributes: Mapping[str, Any] | None = None) -> m.Point:
    """``total + delta``, keeping the total's start time; ``None + delta`` starts a total at delta's start.

    Histograms with different bounds do not add: the delta starts a new total.
    """
    attrs = delta.attributes if attributes is None else attributes
    if isinstance(delta, m.NumberPoint):
        if total is None:
            return m.NumberPoint(attrs, delta.time_ns, delta.value, delta.start_time_ns or delta.time_ns,
                                 list(delta.exemplars), delta.flags)
        assert isinstance(total, m.NumberPoint)
        return m.NumberPoint(attrs, max(total.time_ns, delta.time_ns), total.value + delta.value,
                             total.start_time_ns, list(delta.exemplars), delta.flags)
    assert isinstance(delta, m.HistogramPoint)
    if total is None or not isinstance(total, m.HistogramPoint) or total.bounds != delta.bounds:
        return m.HistogramPoint(attrs, delta.time_ns, delta.count, delta.sum, delta.bounds,
                                list(delta.bucket_counts), delta.start_time_ns or delta.time_ns,
                                delta.min, delta.max, list(delta.exemplars), delta.flags)
    return m.HistogramPoint(
        attrs, max(total.time_ns, delta.time_ns), total.count + delta.count,
        None if total.sum is None or delta.sum is None else total.sum + delta.sum,
        total.bounds, [a + b for a, b in zip(total.bucket_counts, delta.bucket_counts)], total.start_time_ns,
        _extreme(min, total.min, delta.min), _extreme(max, total.max, delta.max), list(delta.exemplars), delta.flags,
    )


def _extreme(pick: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return pick(a, b)


#: (stream key, metric, point) -> the point to emit, or None to drop it.
Convert = Callable[[tuple, m.Metric, m.Point], "m.Point | None"]


def convert_streams(batch: m.Metrics, select: Callable[[m.Metric], bool], convert: Convert,
                    temporality: m.Temporality) -> int:
    """Rewrite the points of every selected metric through ``convert`` and set its temporality.

    Metrics left with no points are removed. Returns the number of points dropped.
    """
    dropped = 0
    changed = False
    for rm in batch.resource_metrics:
        for sm in rm.scope_metrics:
            kept = []
            for metric in sm.metrics:
                if not select(metric):
                    kept.append(metric)
                    continue
                if not changed:
                    batch.invalidate_serialized()
                    changed = True
                points = []
                for point in metric.points:
                    out = convert(stream_key(rm, sm, metric, point.attributes), metric, point)
                    if out is None:
                        dropped += 1
                    else:
                        points.append(out)
                metric.points = points
                metric.temporality = temporality
                if points:
                    kept.append(metric)
            sm.metrics = kept
    return dropped
