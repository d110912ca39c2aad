"""awscloudwatch against a CloudWatch emulator over real HTTP, read back with list_metrics and get_metric_data."""

from __future__ import annotations

import datetime as dt
import time

from collector.pdata import metrics as m
from exporters.awscloudwatch import AwsCloudWatchConfig, AwsCloudWatchExporter
from tests.aws.conftest import REGION, batch, client, counters, gauge, settings

NOW_NS = time.time_ns()


def exporter(endpoint: str, **options) -> tuple[AwsCloudWatchExporter, object]:
    s = settings("awscloudwatch")
    config = AwsCloudWatchConfig.model_validate({"endpoint": endpoint, "region": REGION, **options})
    return AwsCloudWatchExporter(s, config), s


def stat(cw, namespace: str, name: str, dims: dict, statistic: str) -> list[float]:
    now = dt.datetime.now(dt.timezone.utc)
    reply = cw.get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
            "Period": 60, "Stat": statistic}}],
        StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=10))
    return reply["MetricDataResults"][0]["Values"]


async def test_values_land_as_metrics(moto):
    exp, s = exporter(moto, namespace="Fathom/PMD")
    counter = m.Metric("requests", m.MetricType.SUM, [
        m.NumberPoint({"route": "/a"}, NOW_NS - 10**9, 5, NOW_NS - 10**10),
        m.NumberPoint({"route": "/a"}, NOW_NS, 12, NOW_NS - 10**10)],
        temporality=m.Temporality.CUMULATIVE, monotonic=True)
    histogram = m.Metric("latency", m.MetricType.HISTOGRAM, [
        m.HistogramPoint({"route": "/a"}, NOW_NS, 6, 120.0, (10.0, 50.0), [1, 3, 2], NOW_NS - 10**9, 2.0, 60.0)],
        unit="ms", temporality=m.Temporality.DELTA)
    await exp.push(batch([counter, histogram, gauge("temp", 21.5, {"room": "b"}, NOW_NS)]))

    cw = client("cloudwatch", moto)
    listed = {(x["MetricName"], tuple((d["Name"], d["Value"]) for d in x["Dimensions"]))
              for x in cw.list_metrics(Namespace="Fathom/PMD")["Metrics"]}
    assert listed == {("requests", (("route", "/a"),)), ("latency", (("route", "/a"),)), ("temp", (("room", "b"),))}
    assert stat(cw, "Fathom/PMD", "requests", {"route": "/a"}, "Sum") == [12.0]  # first value 5, then delta 7
    assert stat(cw, "Fathom/PMD", "temp", {"room": "b"}, "Maximum") == [21.5]
    assert stat(cw, "Fathom/PMD", "latency", {"route": "/a"}, "SampleCount") == [6.0]
    assert counters(s, "fathom_exporter_dropped") == {}


async def test_statistic_sets_and_high_resolution(moto):
    exp, s = exporter(moto, namespace="Fathom/Stats", histograms="statistic_set", storage_resolution=1)
    histogram = m.Metric("latency", m.MetricType.HISTOGRAM, [
        m.HistogramPoint({}, NOW_NS, 6, 120.0, (10.0, 50.0), [1, 3, 2], NOW_NS - 10**9, 2.0, 60.0)],
        unit="ms", temporality=m.Temporality.DELTA)
    requests = exp._requests(batch([histogram]))
    (datum,) = requests[0].data
    assert datum["StatisticValues"] == {"SampleCount": 6, "Sum": 120.0, "Minimum": 2.0, "Maximum": 60.0}
    assert datum["StorageResolution"] == 1 and datum["Unit"] == "Milliseconds"
    await exp._send(requests[0])
    cw = client("cloudwatch", moto)
    assert stat(cw, "Fathom/Stats", "latency", {}, "Sum") == [120.0]
    assert stat(cw, "Fathom/Stats", "latency", {}, "Maximum") == [60.0]
