"""Deltas become cumulative series with correct start times; resets start anew."""

from __future__ import annotations

from collector.pdata import metrics as m
from exporters.prometheus.cumulative import CumulativeStore
from tests.prometheus.conftest import DELTA, T0, batch, counter, gauge, histogram

S = 10**9


def points(store: CumulativeStore) -> list[m.Point]:
    return [p for _, _, metric in store.snapshot().iter_metrics() for p in metric.points]


def test_contiguous_deltas_add_up_and_keep_the_first_start() -> None:
    store = CumulativeStore()
    for i in range(3):
        store.add(batch(counter("c", 5, temporality=DELTA, start=T0 + i * S, t=T0 + (i + 1) * S)), 0.0)
    (point,) = points(store)
    assert (point.value, point.start_time_ns, point.time_ns) == (15, T0, T0 + 3 * S)
    (metric,) = [metric for _, _, metric in store.snapshot().iter_metrics()]
    assert metric.temporality is m.Temporality.CUMULATIVE


def test_a_gap_or_overlap_starts_a_new_series() -> None:
    store = CumulativeStore()
    store.add(batch(counter("c", 5, temporality=DELTA, start=T0, t=T0 + S)), 0.0)
    store.add(batch(counter("c", 7, temporality=DELTA, start=T0 + 5 * S, t=T0 + 6 * S)), 0.0)  # gap
    (point,) = points(store)
    assert (point.value, point.start_time_ns) == (7, T0 + 5 * S)
    store.add(batch(counter("c", 1, temporality=DELTA, start=T0 + 5 * S, t=T0 + 7 * S)), 0.0)  # overlap
    (point,) = points(store)
    assert (point.value, point.start_time_ns) == (1, T0 + 5 * S)


def test_unknown_start_time_is_taken_as_contiguous() -> None:
    store = CumulativeStore()
    store.add(batch(counter("c", 2, temporality=DELTA, start=0, t=T0 + S)), 0.0)
    store.add(batch(counter("c", 3, temporality=DELTA, start=0, t=T0 + 2 * S)), 0.0)
    assert points(store)[0].value == 5


def test_delta_histograms_accumulate_buckets_sum_count_min_max() -> None:
    store = CumulativeStore()
    first = histogram("h", (1.0, 2.0), [1, 0, 2], 10.0, temporality=DELTA, start=T0, t=T0 + S)
    first.points[0].min, first.points[0].max = 0.5, 4.0
    second = histogram("h", (1.0, 2.0), [0, 3, 1], 8.0, temporality=DELTA, start=T0 + S, t=T0 + 2 * S)
    second.points[0].min, second.points[0].max = 1.5, 9.0
    store.add(batch(first), 0.0)
    store.add(batch(second), 0.0)
    (point,) = points(store)
    assert isinstance(point, m.HistogramPoint)
    assert (point.bucket_counts, point.count, point.sum, point.min, point.max) == ([1, 3, 3], 7, 18.0, 0.5, 9.0)
    assert point.start_time_ns == T0
    # new bounds cannot be added to the old ones: start over
    store.add(batch(histogram("h", (5.0,), [1, 1], 3.0, temporality=DELTA, start=T0 + 2 * S, t=T0 + 3 * S)), 0.0)
    assert points(store)[0].bucket_counts == [1, 1]


def test_inputs_are_never_changed() -> None:
    store = CumulativeStore()
    first = batch(counter("c", 5, temporality=DELTA, start=T0, t=T0 + S))
    store.add(first, 0.0)
    store.add(batch(counter("c", 5, temporality=DELTA, start=T0 + S, t=T0 + 2 * S)), 0.0)
    assert first.resource_metrics[0].scope_metrics[0].metrics[0].points[0].value == 5


def test_cumulative_and_gauges_keep_the_latest_and_drop_older() -> None:
    store = CumulativeStore()
    store.add(batch(gauge("g", 1, t=T0 + 2 * S)), 0.0)
    result = store.add(batch(gauge("g", 9, t=T0 + S)), 0.0)
    assert result.dropped == 1 and points(store)[0].value == 1
    store.add(batch(counter("c", 10, t=T0 + S), counter("c", 4, t=T0 + 2 * S, start=T0 + S)), 0.0)
    assert [p.value for p in points(store)] == [1, 4]  # a restarted counter is the newest state


def test_what_prometheus_cannot_hold_is_dropped_and_counted() -> None:
    store = CumulativeStore()
    exp = m.Metric("e", m.MetricType.EXPONENTIAL_HISTOGRAM, [m.ExponentialHistogramPoint(
        {}, T0, 1, 1.0, 0, 0, m.Buckets(0, [1]), m.Buckets())])
    updown = m.Metric("u", m.MetricType.SUM, [m.NumberPoint({}, T0, 1)], temporality=DELTA, monotonic=False)
    unspecified = m.Metric("x", m.MetricType.SUM, [m.NumberPoint({}, T0, 1)], monotonic=True)
    assert store.add(batch(exp, updown, unspecified), 0.0).dropped == 3
    assert len(store) == 0


def test_series_are_told_apart_by_resource_scope_and_attributes() -> None:
    store = CumulativeStore()
    store.add(batch(gauge("g", 1, {"a": 1}), gauge("g", 2, {"a": True}), gauge("g", 3, {"a": [1, 2]})), 0.0)
    store.add(batch(gauge("g", 4, {"a": 1}), resource={"service.name": "other"}), 0.0)
    store.add(batch(gauge("g", 5, {"a": 1}), scope=m.Scope("other")), 0.0)
    assert len(store) == 5


def test_changed_returns_the_cumulative_points_of_the_batch() -> None:
    store = CumulativeStore()
    store.add(batch(counter("c", 5, temporality=DELTA, start=T0, t=T0 + S)), 0.0)
    result = store.add(batch(counter("c", 2, temporality=DELTA, start=T0 + S, t=T0 + 2 * S)), 0.0, changed=True)
    assert result.changed is not None
    ((_, _, metric),) = list(result.changed.iter_metrics())
    assert metric.temporality is m.Temporality.CUMULATIVE and metric.points[0].value == 7


def test_expire_forgets_what_was_not_updated() -> None:
    store = CumulativeStore()
    store.add(batch(gauge("old", 1)), 10.0)
    store.add(batch(gauge("new", 1)), 20.0)
    assert store.expire(15.0) == 1
    assert [metric.name for _, _, metric in store.snapshot().iter_metrics()] == ["new"]
    assert store.expire(25.0) == 1 and store.snapshot().resource_metrics == []
