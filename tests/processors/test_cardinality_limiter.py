"""The cardinality limiter: series limits, label limits, expiry and correct folding of sums."""

from __future__ import annotations

import asyncio
import logging

from collector.component import ComponentID, Kind, Settings, Signal
from collector.pdata import metrics as m
from collector.processors.cardinality_limiter import CardinalityLimiter, CardinalityLimiterConfig
from collector.telemetry import Telemetry
from tests.processors.conftest import gauge, metric_batch, points

OVERFLOW = {"otel.metric.overflow": "true"}


class Sink:
    mutates_data = False

    def __init__(self) -> None:
        self.batches: list = []

    async def consume(self, batch) -> None:
        self.batches.append(batch)


def limiter(telemetry: Telemetry | None = None, **config) -> tuple[CardinalityLimiter, Sink]:
    id = ComponentID("cardinality_limiter")
    telemetry = telemetry or Telemetry()
    settings = Settings(id, Kind.PROCESSOR, logging.getLogger("t"), telemetry.for_component(id, Kind.PROCESSOR),
                        frozenset({Signal.METRICS}), "metrics")
    sink = Sink()
    return CardinalityLimiter(settings, CardinalityLimiterConfig.model_validate(config), sink), sink


def counter(name: str, temporality: m.Temporality, *pts: tuple[dict, float, int, int]) -> m.Metric:
    """Points as (attributes, value, start_ns, time_ns)."""
    return m.Metric(name, m.MetricType.SUM, [m.NumberPoint(dict(a), t, v, s) for a, v, s, t in pts],
                    temporality=temporality, monotonic=True)


def series(sink: Sink) -> dict:
    return {(n, tuple(sorted(p.attributes.items()))): p.value for n, p in points(sink.batches[-1:])}


async def test_series_past_the_limit_fold_into_the_overflow_series(run_pipeline):
    telemetry = Telemetry()
    batch = metric_batch([gauge("g", *[({"id": str(i)}, float(i), ) for i in range(5)]),
                          gauge("other", ({"id": "x"}, 1.0))])
    out = await run_pipeline("cardinality_limiter: {limit: 3, metrics: {other: 1}}", "metrics", [batch],
                             telemetry=telemetry)
    got = [(n, dict(p.attributes), p.value) for n, p in points(out)]
    assert got == [("g", {"id": "0"}, 0.0), ("g", {"id": "1"}, 1.0), ("g", {"id": "2"}, 2.0),
                   ("g", OVERFLOW, 4.0), ("other", {"id": "x"}, 1.0)]
    overflow = {tuple(sorted(p.attributes.items())): p.value for _, _, mt in telemetry.collect().iter_metrics()
                if mt.name == "fathom_cardinality_overflow_points" for p in mt.points}
    assert overflow == {(("metric", "g"), ("processor", "cardinality_limiter")): 2}


async def test_delta_sums_add_up_in_the_overflow_series():
    proc, sink = limiter(limit=1)
    await proc.consume(metric_batch([counter("c", m.Temporality.DELTA, ({"a": "1"}, 5, 0, 10),
                                             ({"a": "2"}, 3, 0, 10), ({"a": "3"}, 4, 0, 10))]))
    assert series(sink) == {("c", (("a", "1"),)): 5, ("c", (("otel.metric.overflow", "true"),)): 7}


async def test_cumulative_sums_fold_increments_per_source_and_never_go_down():
    proc, sink = limiter(limit=1)
    D = m.Temporality.CUMULATIVE
    await proc.consume(metric_batch([counter("c", D, ({"a": "1"}, 100, 1, 10), ({"a": "2"}, 10, 1, 10),
                                             ({"a": "3"}, 20, 1, 10))]))
    assert series(sink)[("c", (("otel.metric.overflow", "true"),))] == 30
    # a:2 grows by 5, a:3 by 1: the overflow total grows by 6.
    await proc.consume(metric_batch([counter("c", D, ({"a": "2"}, 15, 1, 20), ({"a": "3"}, 21, 1, 20))]))
    assert series(sink)[("c", (("otel.metric.overflow", "true"),))] == 36
    # a:3 restarts (new start time): its whole new value is an increment.
    await proc.consume(metric_batch([counter("c", D, ({"a": "3"}, 2, 15, 30))]))
    assert series(sink)[("c", (("otel.metric.overflow", "true"),))] == 38
    # a:2 stops reporting; the total stays where it was.
    await proc.consume(metric_batch([counter("c", D, ({"a": "3"}, 4, 15, 40))]))
    assert series(sink)[("c", (("otel.metric.overflow", "true"),))] == 40


async def test_label_limits_replace_new_values_and_merge_the_series():
    telemetry = Telemetry()
    proc, sink = limiter(telemetry, label_limits={"user": 2})
    await proc.consume(metric_batch([counter("c", m.Temporality.DELTA, *[
        ({"user": u, "route": "/"}, 1, 0, 10) for u in ["a", "b", "c", "d", "a"]])]))
    assert series(sink) == {("c", (("route", "/"), ("user", "a"))): 1, ("c", (("route", "/"), ("user", "b"))): 1,
                            ("c", (("route", "/"), ("user", "otel.overflow"))): 2}
    # "a" repeated is not merged here: each of its points passes unchanged
    assert sum(1 for _, p in points(sink.batches) if p.attributes["user"] == "a") == 2
    hits = [p.attributes for _, _, mt in telemetry.collect().iter_metrics()
            if mt.name == "fathom_cardinality_label_overflow_points" for p in mt.points]
    assert hits[0]["label"] == "user" and hits[0]["metric"] == "c"


async def test_idle_series_free_their_slot():
    proc, sink = limiter(limit=1, idle_timeout="100ms")
    await proc.consume(metric_batch([gauge("g", ({"a": "1"}, 1.0))]))
    await proc.consume(metric_batch([gauge("g", ({"a": "2"}, 2.0))]))
    assert series(sink) == {("g", (("otel.metric.overflow", "true"),)): 2.0}
    await asyncio.sleep(0.15)
    await proc.consume(metric_batch([gauge("g", ({"a": "2"}, 3.0))]))
    assert series(sink) == {("g", (("a", "2"),)): 3.0}


async def test_summaries_past_the_limit_are_dropped_and_counted():
    proc, sink = limiter(limit=1)
    summary = m.Metric("s", m.MetricType.SUMMARY, [m.SummaryPoint({"a": str(i)}, 1, 1, 1.0, []) for i in range(3)])
    await proc.consume(metric_batch([summary]))
    assert [dict(p.attributes) for _, p in points(sink.batches)] == [{"a": "0"}]
