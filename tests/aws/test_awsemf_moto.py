"""awsemf against a CloudWatch Logs emulator over real HTTP: what lands is valid EMF and what went in."""

from __future__ import annotations

import json
import time

from collector import emf
from collector.pdata import metrics as m
from exporters.awsemf import AwsEmfConfig
from exporters.awsemf.exporter import AwsEmfExporter
from tests.aws.conftest import REGION, batch, client, counters, gauge, settings

NOW_NS = time.time_ns()


def exporter(endpoint: str, **options) -> tuple[AwsEmfExporter, object]:
    s = settings("awsemf")
    config = AwsEmfConfig.model_validate({"endpoint": endpoint, "region": REGION, **options})
    return AwsEmfExporter(s, config), s


def read_events(endpoint: str, group: str, stream: str) -> list[dict]:
    logs = client("logs", endpoint)
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    return [json.loads(e["message"]) for e in events]


async def test_group_and_stream_created_and_events_are_valid_emf(moto):
    exp, s = exporter(moto, namespace="Fathom/Test", log_group_name="/fathom/{ServiceName}",
                      log_stream_name="{PodName}", log_retention=7, tags={"team": "obs"})
    counter = m.Metric("requests", m.MetricType.SUM, [
        m.NumberPoint({"route": "/a"}, NOW_NS, 5, NOW_NS - 10**9)], unit="{requests}",
        temporality=m.Temporality.CUMULATIVE, monotonic=True)
    histogram = m.Metric("latency", m.MetricType.HISTOGRAM, [
        m.HistogramPoint({"route": "/a"}, NOW_NS, 6, 120.0, (10.0, 50.0), [1, 3, 2], NOW_NS - 10**9, 2.0, 60.0)],
        unit="ms", temporality=m.Temporality.DELTA)
    data = batch([counter, histogram, gauge("temp", 21.5, {"room": "b"}, NOW_NS, "1")],
                 {"service.name": "checkout", "k8s.pod.name": "pod-1"})
    await exp.push(data)

    logs = client("logs", moto)
    group = logs.describe_log_groups(logGroupNamePrefix="/fathom/checkout")["logGroups"][0]
    assert group["logGroupName"] == "/fathom/checkout" and group["retentionInDays"] == 7
    assert logs.list_tags_log_group(logGroupName="/fathom/checkout")["tags"] == {"team": "obs"}
    events = read_events(moto, "/fathom/checkout", "pod-1")
    for event in events:
        assert emf.validate(event, allow_distributions=True) == [], event
    by_name = {d["Name"]: (e, d) for e in events for dr in e["_aws"]["CloudWatchMetrics"] for d in dr["Metrics"]}
    event, definition = by_name["requests"]
    assert event["requests"] == 5 and definition["Unit"] == "Count" and event["route"] == "/a"
    assert event["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["route"]]
    assert event["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Fathom/Test"
    assert event["_aws"]["Timestamp"] == NOW_NS // 10**6
    event, definition = by_name["latency"]
    assert event["latency"] == {"Values": [2.0, 30.0, 60.0], "Counts": [1, 3, 2], "Max": 60.0, "Min": 2.0,
                                "Count": 6, "Sum": 120.0}
    assert definition["Unit"] == "Milliseconds"
    event, definition = by_name["temp"]
    assert event["temp"] == 21.5 and event["room"] == "b" and definition["Unit"] == "None"
    assert counters(s, "fathom_exporter_dropped") == {}
