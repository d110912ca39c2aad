"""EMF events and PutLogEvents requests by the specification's and the API's limits."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from collector import emf
from exporters.aws.datums import Datum, Distribution, ResourceDatums
from exporters.awsemf import AwsEmfConfig
from exporters.awsemf.events import EventBuilder, LogEvent
from exporters.awsemf.logbatch import MAX_AGE_MS, MAX_BYTES, MAX_EVENTS, batches

T = 1_700_000_000_000


def build(datums, resource=None, **options):
    dropped: Counter[str] = Counter()
    out = EventBuilder(AwsEmfConfig.model_validate(options)).build([ResourceDatums(resource or {}, datums)], dropped)
    events = [json.loads(e.message) for es in out.values() for e in es]
    for event in events:
        assert emf.validate(event, allow_distributions=True) == []
    return out, events, dropped


def test_more_than_100_metrics_are_split_into_events():
    _, events, dropped = build([Datum(f"m{i}", "Count", {"a": "1"}, T, float(i)) for i in range(250)])
    assert [len(e["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for e in events] == [100, 100, 50]
    assert sum(1 for e in events for k in e if k.startswith("m")) == 250 and not dropped


def test_same_name_twice_goes_to_separate_events():
    part = Distribution([1.0], [1.0], 1.0, 1.0, 1.0, 1.0)
    _, events, _ = build([Datum("h", "None", {}, T, part), Datum("h", "None", {}, T, part)])
    assert len(events) == 2


def test_rollup_and_declarations():
    dims = {"service": "a", "route": "/x", "code": "200"}
    _, events, _ = build([Datum("req", "Count", dims, T, 1.0)], dimension_rollup_option="ZeroAndSingleDimensionRollup")
    assert events[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["code", "route", "service"], [], ["code"], ["route"], ["service"]]
    declared = {"metric_declarations": [{"dimensions": [["service"], ["service", "missing"]],
                                         "metric_name_selectors": ["^req$"],
                                         "label_matchers": [{"label_names": ["code"], "regex": "^2"}]}]}
    _, events, dropped = build([Datum("req", "Count", dims, T, 1.0), Datum("other", "Count", dims, T, 1.0),
                                Datum("req", "Count", {**dims, "code": "500"}, T, 1.0)], **declared)
    assert [e["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for e in events] == [[["service"]]]
    assert dropped == {"not_declared": 2}


def test_oversized_dimension_sets_and_events():
    many = {f"d{i:02}": "v" for i in range(31)}
    _, events, dropped = build([Datum("x", "None", many, T, 1.0)], dimension_rollup_option="SingleDimensionRollup")
    assert all(len(s) == 1 for s in events[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"])
    assert dropped == {"dimension_set_over_30": 1}
    # Sized against collector.emf's 1 MiB event limit (it was 256 KiB): every event carries the point's
    # 800 KB of attributes at its root, and 100 distributions do not fit beside them.
    wide = Distribution([i + 0.12345678912345 for i in range(100)], [12345.0] * 100, 0.0, 99.0, 1.0, 100.0)
    wide_dims = {f"d{i:03}": "v" * 1000 for i in range(800)}
    declared = {"metric_declarations": [{"dimensions": [["d000"]], "metric_name_selectors": ["^m"]}]}
    out, events, dropped = build([Datum(f"m{i}", "None", wide_dims, T, wide) for i in range(100)], **declared)
    assert len(events) >= 2 and sum(len(e["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for e in events) == 100
    assert all(e.size + 26 <= emf.MAX_EVENT_BYTES for es in out.values() for e in es) and not dropped
    _, events, dropped = build([Datum("x", "None", {f"k{i}": "v" * 1000 for i in range(1100)}, T, 1.0)],
                               dimension_rollup_option="SingleDimensionRollup")
    assert dropped == {"event_too_large": 1, "dimension_set_over_30": 1}


def test_name_collision_and_placeholders():
    out, _, dropped = build([Datum("route", "None", {"route": "/a"}, T, 1.0), Datum("ok", "None", {}, T, 1.0)],
                            {"service.name": "svc", "pod": "p-1"},
                            log_group_name="/aws/{ServiceName}", log_stream_name="{PodName}-{TaskId}")
    assert list(out) == [("/aws/svc", "p-1-undefined")] and dropped == {"name_collides_with_dimension": 1}


def test_validator_reports_each_rule():
    doc = {"_aws": {"Timestamp": "x", "CloudWatchMetrics": [{
        "Namespace": "AWS/Bad", "Dimensions": [["missing"], [f"d{i}" for i in range(31)]],
        "Metrics": [{"Name": "v", "Unit": "Parsecs", "StorageResolution": 5}] + [{"Name": "v"}]}]},
        "v": list(range(101)), **{f"d{i}": "x" for i in range(31)}}
    problems = " | ".join(map(str, emf.validate(doc, allow_distributions=True)))
    # The wording is collector.emf's ("31 dimension keys", "101 values"); a name defined twice in one
    # directive is no rule of the specification there: EventBuilder never writes one (tested above).
    for expected in ("Timestamp", "AWS/", "'missing' is not a member", "31 dimension keys", "Parsecs",
                     "StorageResolution", "101 values"):
        assert expected in problems


def events(n, size=100, start=T, step=1):
    return [LogEvent(start + i * step, "x" * size, size, 1) for i in range(n)]


def test_batches_respect_count_bytes_span_and_age():
    dropped: Counter[str] = Counter()
    by_count = batches({("g", "s"): events(MAX_EVENTS + 5, size=10)}, dropped, now_ms=T)
    assert [len(b.events) for b in by_count] == [MAX_EVENTS, 5]
    by_bytes = batches({("g", "s"): events(10, size=200_000)}, dropped, now_ms=T)
    assert all(sum(e.size + 26 for e in b.events) <= MAX_BYTES for b in by_bytes) and len(by_bytes) == 2
    hour = 3600 * 1000
    by_span = batches({("g", "s"): events(30, start=T - 29 * hour, step=hour)[::-1]}, dropped, now_ms=T)
    assert [len(b.events) for b in by_span] == [24, 6]
    assert all(b.events == sorted(b.events, key=lambda e: e.timestamp) for b in by_span)
    assert not dropped
    batches({("g", "s"): [*events(2, start=T - MAX_AGE_MS - 2), *events(3, start=T + 3 * hour)]}, dropped, now_ms=T)
    assert dropped == {"too_old": 2, "too_far_ahead": 3}


@pytest.mark.parametrize("bad", [{"log_retention": 2}, {"tags": {"aws:x": "y"}}, {"namespace": "AWS/EC2"},
                                 {"log_stream_name": "{Nope}"}, {"endpoint": "localhost:4566"}])
def test_config_errors(bad):
    with pytest.raises(ValueError):
        AwsEmfConfig.model_validate(bad)


def test_a_datums_own_namespace_and_resolution_win_over_the_configured_ones():
    _, events, dropped = build([Datum("a", "None", {}, T, 1.0, namespace="Shop", storage_resolution=1),
                                Datum("b", "None", {}, T, 1.0), Datum("c", "None", {}, T, 1.0, namespace="AWS/EC2")],
                               namespace="Configured", storage_resolution=60)
    directives = [e["_aws"]["CloudWatchMetrics"][0] for e in events]
    assert sorted((d["Namespace"], d["Metrics"][0]) for d in directives) == [
        ("Configured", {"Name": "b", "Unit": "None"}), ("Shop", {"Name": "a", "Unit": "None", "StorageResolution": 1})]
    assert dropped == {"invalid_namespace": 1}
