"""cumulativetodelta and deltatocumulative: conversions, resets from start times, bounded and expiring state."""

from __future__ import annotations

import time

from collector.pdata import metrics as m
from tests.processors.conftest import gauge, metric_batch, points

C, D = m.Temporality.CUMULATIVE, m.Temporality.DELTA


def sums(temporality, *pts, name="c", monotonic=True):
    """Points as (attributes, value, start_ns, time_ns)."""
    return metric_batch([m.Metric(name, m.MetricType.SUM, [m.NumberPoint(dict(a), t, v, s) for a, v, s, t in pts],
                                  temporality=temporality, monotonic=monotonic)])


def hist(temporality, count, buckets, start, t, bounds=(1.0,)):
    return metric_batch([m.Metric("h", m.MetricType.HISTOGRAM, [
        m.HistogramPoint({}, t, count, float(count), bounds, list(buckets), start)], temporality=temporality)])


def values(out):
    return [(n, p.value, p.start_time_ns, p.time_ns) for n, p in points(out)]


async def test_cumulative_to_delta_with_resets_and_initial_value(run_pipeline):
    now = time.time_ns()
    batches = [
        sums(C, ({"a": "old"}, 100, 1, 10), ({"a": "new"}, 7, now + 10**9, now + 2 * 10**9)),
        sums(C, ({"a": "old"}, 130, 1, 20)),
        sums(C, ({"a": "old"}, 5, 15, 30)),  # restarted: new start time
        sums(C, ({"a": "old"}, 9, 15, 40)),
        metric_batch([gauge("g", ({}, 1.0))]),
    ]
    out = await run_pipeline("cumulativetodelta: {}", "metrics", batches)
    # old's first point is dropped (started before us, 'auto'); new's is kept.
    assert values(out) == [("c", 7, now + 10**9, now + 2 * 10**9), ("c", 30, 10, 20), ("c", 5, 15, 30),
                           ("c", 4, 30, 40), ("g", 1.0, 0, 1)]
    assert all(mt.temporality is D for b in out for _, _, mt in b.iter_metrics() if mt.name == "c")


async def test_cumulative_histograms_subtract_bucket_by_bucket(run_pipeline):
    out = await run_pipeline("cumulativetodelta: {initial_value: keep, include: {metrics: [h]}}", "metrics",
                             [hist(C, 3, [1, 2], 1, 10), hist(C, 7, [2, 5], 1, 20)])
    (_, first), (_, second) = points(out)
    assert (first.count, first.bucket_counts) == (3, [1, 2])
    assert (second.count, second.bucket_counts, second.sum, second.start_time_ns) == (4, [1, 3], 4.0, 10)


async def test_cumulative_to_delta_forgets_the_stalest_stream(run_pipeline):
    batches = [sums(C, ({"a": "1"}, 1, 1, 10)), sums(C, ({"a": "2"}, 1, 1, 10)), sums(C, ({"a": "1"}, 5, 1, 20))]
    out = await run_pipeline("cumulativetodelta: {initial_value: keep, max_streams: 1}", "metrics", batches)
    # a=1 was evicted by a=2, so its next point counts as a first point again.
    assert [p.value for _, p in points(out)] == [1, 1, 5]


async def test_delta_to_cumulative_accumulates_and_drops_out_of_order(run_pipeline):
    batches = [sums(D, ({}, 2, 0, 10)), sums(D, ({}, 3, 10, 20)), sums(D, ({}, 9, 5, 15)),
               sums(D, ({}, 1, 20, 30)), hist(D, 2, [1, 1], 0, 10), hist(D, 3, [0, 3], 10, 20)]
    out = await run_pipeline("deltatocumulative: {}", "metrics", batches)
    got = [(n, getattr(p, "value", None) or p.bucket_counts, p.start_time_ns, p.time_ns) for n, p in points(out)]
    assert got == [("c", 2, 10, 10), ("c", 5, 10, 20), ("c", 6, 10, 30), ("h", [1, 1], 10, 10), ("h", [1, 4], 10, 20)]
    assert all(mt.temporality is C for b in out for _, _, mt in b.iter_metrics())


async def test_delta_to_cumulative_refuses_streams_past_the_limit(run_pipeline):
    batches = [sums(D, ({"a": "1"}, 1, 1, 10), ({"a": "2"}, 1, 1, 10)), sums(D, ({"a": "1"}, 1, 10, 20))]
    out = await run_pipeline("deltatocumulative: {max_streams: 1}", "metrics", batches)
    assert [(dict(p.attributes), p.value) for _, p in points(out)] == [({"a": "1"}, 1), ({"a": "1"}, 2)]
