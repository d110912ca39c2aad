"""The shared translation rules: units, deltas, distributions, drops, CloudWatch's naming rules."""

from __future__ import annotations

import math

import pytest

from collector import emf
from collector.pdata import metrics as m
from exporters.aws import DeltaTracker, TranslateOptions, Translator
from exporters.aws.datums import Distribution, StatisticSet, split_distribution
from exporters.aws.delta import Totals
from exporters.aws.units import cloudwatch_unit
from tests.aws.conftest import batch, gauge

T = 1_700_000_000_000_000_000


@pytest.mark.parametrize("ucum, expected", [
    ("s", ("Seconds", 1.0)), ("ms", ("Milliseconds", 1.0)), ("ns", ("Microseconds", 1e-3)),
    ("min", ("Seconds", 60.0)), ("By", ("Bytes", 1.0)), ("KiBy", ("Kilobytes", 1.0)), ("%", ("Percent", 1.0)),
    ("1", ("None", 1.0)), ("{requests}", ("Count", 1.0)), ("{requests}/s", ("Count/Second", 1.0)),
    ("By/s", ("Bytes/Second", 1.0)), ("Mbit/s", ("Megabits/Second", 1.0)), ("furlong", ("None", 1.0)),
])
def test_units(ucum, expected):
    assert tuple(cloudwatch_unit(ucum)) == expected
    assert cloudwatch_unit(ucum).name in emf.UNITS


def test_delta_keeps_first_value_and_detects_resets():
    tracker = DeltaTracker(retain_initial=True)
    assert tracker.delta("k", 1, 10, Totals(value=5))[0].value == 5  # kept, unlike the Collector
    assert tracker.delta("k", 1, 20, Totals(value=8))[0].value == 3
    assert tracker.delta("k", 1, 15, Totals(value=9)) == (None, "out_of_order")
    assert tracker.delta("k", 1, 20, Totals(value=8)) == (None, "duplicate")
    assert tracker.delta("k", 25, 30, Totals(value=2))[0].value == 2  # new start time: restarted
    assert tracker.delta("k", 0, 40, Totals(value=1))[0].value == 1  # went down: reset
    dropping = DeltaTracker(retain_initial=False)
    assert dropping.delta("k", 1, 10, Totals(value=5)) == (None, "initial_value")


def test_histogram_buckets_become_deltas():
    tracker = DeltaTracker(retain_initial=True)
    tracker.delta("h", 1, 10, Totals(count=3, sum=30, buckets={0: 1, 1: 2}), (10.0,))
    delta, _ = tracker.delta("h", 1, 20, Totals(count=5, sum=70, buckets={0: 1, 1: 4}), (10.0,))
    assert (delta.count, delta.sum, delta.buckets) == (2, 40, {1: 2})
    restarted, _ = tracker.delta("h", 1, 30, Totals(count=6, sum=80, buckets={0: 6}), (5.0,))
    assert restarted.count == 6  # new bounds: a new series


def translate(metrics, **options):
    translator = Translator(TranslateOptions(**options), DeltaTracker(True))
    resources, dropped = translator.translate(batch(metrics, {"service.name": "svc"}))
    return [d for r in resources for d in r.datums], dropped


def test_non_finite_and_out_of_range_values_are_dropped_and_counted():
    datums, dropped = translate([gauge("g", math.nan, {}, T), gauge("g", math.inf, {"a": "1"}, T),
                                 gauge("g", 2.0 ** 400, {"b": "1"}, T), gauge("g", 1.0, {"c": "1"}, T)])
    assert [d.value for d in datums] == [1.0]
    assert dropped == {"non_finite": 2, "value_out_of_range": 1}


def test_invalid_dimensions_and_names_are_dropped():
    datums, dropped = translate([gauge("g", 1, {"empty": ""}, T), gauge("g", 1, {"é": "x"}, T),
                                 gauge("", 1, {}, T), gauge("ok", 1, {"n": 3, "flag": True}, T)])
    assert [(d.name, d.dimensions) for d in datums] == [("ok", {"n": "3", "flag": "true"})]
    assert dropped == {"invalid_dimension": 2, "invalid_metric_name": 1}


def test_resource_to_telemetry_conversion():
    datums, _ = translate([gauge("g", 1, {"a": "1"}, T)], resource_to_telemetry=True)
    assert datums[0].dimensions == {"service.name": "svc", "a": "1"}


def test_long_distributions_split_and_add_up():
    pairs = [(float(i), 1.0 + i % 3) for i in range(250)]
    total = sum(v * c for v, c in pairs) + 0.5  # the recorded sum, not exactly the midpoints'
    parts = split_distribution(pairs, -1.0, 300.0, total, 100)
    assert [len(p.values) for p in parts] == [100, 100, 50]
    assert sum(p.count for p in parts) == sum(c for _, c in pairs)
    assert sum(p.sum for p in parts) == pytest.approx(total)
    assert parts[0].min == -1.0 and parts[-1].max == 300.0


def test_exponential_histogram_and_summary():
    exp = m.Metric("e", m.MetricType.EXPONENTIAL_HISTOGRAM, [m.ExponentialHistogramPoint(
        {}, T, 4, 10.0, 0, 1, m.Buckets(1, [2, 1]), m.Buckets(0, []), T - 1)], temporality=m.Temporality.DELTA)
    summary = m.Metric("s", m.MetricType.SUMMARY, [m.SummaryPoint({}, T, 4, 10.0, [(0.0, 1.0), (0.5, 2.0), (1.0, 5.0)])])
    datums, dropped = translate([exp, summary], detailed_metrics=True)
    by_name = {}
    for d in datums:
        by_name.setdefault(d.name, []).append(d)
    (e,) = by_name["e"]
    assert isinstance(e.value, Distribution)
    assert e.value.values == [0.0, 3.0, 6.0] and e.value.counts == [1.0, 2.0, 1.0] and e.value.count == 4
    stats = [d for d in by_name["s"] if isinstance(d.value, StatisticSet)]
    assert stats[0].value == StatisticSet(1.0, 5.0, 10.0, 4.0)
    assert {d.dimensions.get("quantile") for d in by_name["s"]} == {"0", "0.5", "1", None}


@pytest.mark.parametrize("namespace, ok", [("MyApp/Web", True), ("AWS/EC2", False), (":x", False), (" ", False),
                                           ("x" * 256, False), ("naïve", False)])
def test_namespace_rules(namespace, ok):
    assert (emf.namespace_problem(namespace) is None) is ok


def test_emf_identity_leaves_the_dimensions_for_the_datum():
    point = m.NumberPoint({emf.NAMESPACE_ATTRIBUTE: "Shop", "route": "/a"}, T, 2.0)
    own = m.Metric("g", m.MetricType.GAUGE, [point], metadata={emf.STORAGE_RESOLUTION_METADATA: 1})
    odd = m.Metric("h", m.MetricType.GAUGE, [m.NumberPoint({}, T, 1.0)], metadata={emf.STORAGE_RESOLUTION_METADATA: 5})
    datums, _ = translate([own, odd])
    assert [(d.namespace, d.storage_resolution, d.dimensions) for d in datums] == [
        ("Shop", 1, {"route": "/a"}), ("", None, {})]
