"""The latest cumulative state of every series, with deltas accumulated.

Prometheus knows only cumulative counters and histograms, so both
Prometheus exporters keep one :class:`CumulativeStore`: the pull exporter
renders its snapshot on every scrape, the remote-write exporter sends what
each batch changed. As the specification asks:

* a delta point whose start time is the stored point's time (or unknown)
  is added to it, keeping the stored start time;
* a delta point that leaves a gap or overlaps starts the series anew from
  its own start time, so a restarted producer never yields a wrong sum;
* points older than what is stored are dropped (out of order);
* non-monotonic delta sums, unspecified temporalities and exponential
  histograms cannot be represented and are dropped (and counted).

Stored points are never changed in place: an update replaces the point, so
a snapshot (new lists over the same points) stays consistent while it is
rendered on another thread.
"""

from __future__ import annotations

import logging

import time
from dataclasses import dataclass, replace
from typing import Any, Hashable, Mapping

from collector.periodic import Periodic
from collector.pdata.metrics import (
    HistogramPoint,
    Metric,
    Metrics,
    MetricType,
    NumberPoint,
    Point,
    Resource,
    ResourceMetrics,
    Scope,
    ScopeMetrics,
    Temporality,
)


@dataclass(slots=True)
class _Series:
    point: Point
    #: monotonic seconds of the last update, for expiration
    seen: float


@dataclass(slots=True)
class _MetricState:
    template: Metric  # name, type, unit, description; its points are not used
    series: dict[Hashable, _Series]


@dataclass(slots=True)
class _ScopeState:
    scope: Scope
    metrics: dict[Hashable, _MetricState]


@dataclass(slots=True)
class _ResourceState:
    resource: Resource
    scopes: dict[Hashable, _ScopeState]


@dataclass(slots=True)
class AddResult:
    """What one batch did to the store."""

    #: points that cannot be represented in Prometheus, or arrived out of order
    dropped: int
    #: the cumulative points this batch produced (only when asked for)
    changed: Metrics | None


class CumulativeStore:
    """Latest cumulative point per series, keyed by resource, scope, metric and attributes."""

    def __init__(self) -> None:
        self._resources: dict[Hashable, _ResourceState] = {}

    def __len__(self) -> int:
        return sum(len(ms.series) for rs in self._resources.values()
                   for ss in rs.scopes.values() for ms in ss.metrics.values())

    def add(self, batch: Metrics, now: float, *, changed: bool = False) -> AddResult:
        """Fold a batch in. ``now`` is monotonic seconds; with ``changed`` the
        cumulative points this batch produced are returned as a batch."""
        dropped = 0
        out: list[ResourceMetrics] = []
        for rm in batch.resource_metrics:
            rkey = attributes_key(rm.resource.attributes)
            rstate = self._resources.get(rkey)
            if rstate is None:
                rstate = self._resources[rkey] = _ResourceState(rm.resource, {})
            out_scopes: list[ScopeMetrics] = []
            for sm in rm.scope_metrics:
                skey = (sm.scope.name, sm.scope.version, attributes_key(sm.scope.attributes))
                sstate = rstate.scopes.get(skey)
                if sstate is None:
                    sstate = rstate.scopes[skey] = _ScopeState(sm.scope, {})
                out_metrics: list[Metric] = []
                for metric in sm.metrics:
                    accepted = self._add_metric(sstate, metric, now)
                    if accepted is None:
                        dropped += len(metric.points)
                        continue
                    dropped += len(metric.points) - len(accepted[1])
                    if changed and accepted[1]:
                        out_metrics.append(replace(accepted[0], points=accepted[1]))
                if out_metrics:
                    out_scopes.append(ScopeMetrics(sm.scope, out_metrics, sm.schema_url))
            if out_scopes:
                out.append(ResourceMetrics(rm.resource, out_scopes, rm.schema_url))
        return AddResult(dropped, Metrics(out) if changed else None)

    def _add_metric(self, sstate: _ScopeState, metric: Metric, now: float) -> tuple[Metric, list[Point]] | None:
        mtype, temporality = metric.type, metric.temporality
        if mtype is MetricType.EXPONENTIAL_HISTOGRAM:
            return None
        delta = False
        if mtype in (MetricType.SUM, MetricType.HISTOGRAM):
            if temporality is Temporality.UNSPECIFIED:
                return None
            delta = temporality is Temporality.DELTA
            if delta and mtype is MetricType.SUM and not metric.monotonic:
                return None
        mkey = (metric.name, mtype, metric.unit, metric.monotonic)
        mstate = sstate.metrics.get(mkey)
        if mstate is None:
            template = Metric(metric.name, mtype, [], metric.description, metric.unit,
                              Temporality.CUMULATIVE if delta else temporality, metric.monotonic, metric.metadata)
            mstate = sstate.metrics[mkey] = _MetricState(template, {})
        series = mstate.series
        accepted: list[Point] = []
        for point in metric.points:
            key = attributes_key(point.attributes)
            stored = series.get(key)
            if stored is None:
                series[key] = _Series(point, now)
                accepted.append(point)
                continue
            if point.time_ns < stored.point.time_ns or (delta and point.time_ns == stored.point.time_ns):
                continue  # out of order, or a delta already counted
            if delta:
                point = _accumulate(stored.point, point)
            stored.point = point
            stored.seen = now
            accepted.append(point)
        return mstate.template, accepted

    def snapshot(self) -> Metrics:
        """The stored state as a batch: new lists, shared (never mutated) points."""
        out = []
        for rstate in self._resources.values():
            scopes = []
            for sstate in rstate.scopes.values():
                metrics = [replace(ms.template, points=[s.point for s in ms.series.values()])
                           for ms in sstate.metrics.values() if ms.series]
                if metrics:
                    scopes.append(ScopeMetrics(sstate.scope, metrics))
            if scopes:
                out.append(ResourceMetrics(rstate.resource, scopes))
        return Metrics(out)

    def expire(self, older_than: float) -> int:
        """Forget series not updated since ``older_than`` (monotonic seconds); returns how many."""
        removed = 0
        for rkey, rstate in list(self._resources.items()):
            for skey, sstate in list(rstate.scopes.items()):
                for mkey, mstate in list(sstate.metrics.items()):
                    stale = [k for k, s in mstate.series.items() if s.seen < older_than]
                    for k in stale:
                        del mstate.series[k]
                    removed += len(stale)
                    if not mstate.series:
                        del sstate.metrics[mkey]
                if not sstate.metrics:
                    del rstate.scopes[skey]
            if not rstate.scopes:
                del self._resources[rkey]
        return removed


def _accumulate(stored: Point, delta: Point) -> Point:
    """The cumulative point after ``delta``; a gap, an overlap or new bounds start over."""
    contiguous = delta.start_time_ns == 0 or delta.start_time_ns == stored.time_ns
    if isinstance(delta, NumberPoint) and isinstance(stored, NumberPoint):
        if not contiguous:
            return delta
        return replace(delta, value=stored.value + delta.value, start_time_ns=stored.start_time_ns)
    if isinstance(delta, HistogramPoint) and isinstance(stored, HistogramPoint):
        if not contiguous or delta.bounds != stored.bounds:
            return delta
        both_sums = stored.sum is not None and delta.sum is not None
        return replace(
            delta,
            count=stored.count + delta.count,
            sum=stored.sum + delta.sum if both_sums else None,  # type: ignore[operator]
            bucket_counts=[a + b for a, b in zip(stored.bucket_counts, delta.bucket_counts)],
            start_time_ns=stored.start_time_ns,
            min=_pick(min, stored.min, delta.min),
            max=_pick(max, stored.max, delta.max),
        )
    return delta


def _pick(fn: Any, a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return fn(a, b)


def attributes_key(attributes: Mapping[str, Any]) -> Hashable:
    """A hashable identity for an attribute set, independent of key order."""
    return tuple(sorted((k, _hashable(v)) for k, v in attributes.items()))


def _hashable(value: Any) -> Hashable:
    if isinstance(value, (list, tuple)):
        return ("[]",) + tuple(_hashable(v) for v in value)
    if isinstance(value, Mapping):
        return ("{}",) + tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (bool, float)):
        return (type(value).__name__, value)  # keep True, 1 and 1.0 apart
    return value


def expiry(store: CumulativeStore, ttl: float, *, name: str, logger: logging.Logger) -> Periodic:
    """A timer that forgets series older than ``ttl`` seconds, checking often enough to be on time.

    It runs whether or not anyone scrapes, so memory is bounded by live series.
    """
    return Periodic(min(ttl / 2, 5.0), lambda: store.expire(time.monotonic() - ttl), name=name, logger=logger)
