"""A flood of series: every request within the API's limits, every event valid, nothing lost."""

from __future__ import annotations

import json
import time

import pytest

from collector import emf
from collector.pdata import metrics as m
from exporters.awscloudwatch import AwsCloudWatchConfig, AwsCloudWatchExporter
from exporters.awsemf import AwsEmfConfig
from exporters.awsemf.exporter import AwsEmfExporter
from tests.aws.conftest import REGION, client, counters, settings
from tests.aws.proxy import FaultProxy

SERIES = 50_000
NOW_NS = time.time_ns()


@pytest.fixture
async def proxy(moto):
    p = FaultProxy(moto)
    await p.start()
    yield p
    await p.stop()


def flood(series: int = SERIES) -> m.Metrics:
    """``series`` series: 10 metrics x series/10 attribute sets, timestamps over the last hour."""
    metrics = [
        m.Metric(f"metric_{k}", m.MetricType.GAUGE, [
            m.NumberPoint({"host": f"h{i % 500}", "path": f"/p/{i}"}, NOW_NS - (i % 3600) * 10**9, float(i))
            for i in range(series // 10)])
        for k in range(10)
    ]
    return m.Metrics([m.ResourceMetrics(m.Resource({"service.name": "flood"}), [m.ScopeMetrics(m.Scope(), metrics)])])


async def test_emf_flood_respects_put_log_events_limits(proxy):
    s = settings("awsemf")
    exp = AwsEmfExporter(s, AwsEmfConfig.model_validate({"endpoint": proxy.url, "region": REGION}))
    await exp.push(flood())
    puts = [c.json() for c in proxy.calls("PutLogEvents") if c.answered == 200]
    assert len(puts) >= 2
    values = 0
    for put in puts:
        events = put["logEvents"]
        stamps = [e["timestamp"] for e in events]
        assert len(events) <= 10_000
        assert sum(len(e["message"].encode()) + 26 for e in events) <= 1_048_576
        assert stamps == sorted(stamps) and stamps[-1] - stamps[0] < 24 * 3600 * 1000
        for e in events:
            doc = json.loads(e["message"])
            assert emf.validate(doc, allow_distributions=True) == []
            values += len(doc["_aws"]["CloudWatchMetrics"][0]["Metrics"])
    assert values == SERIES and counters(s, "fathom_exporter_dropped") == {}
    stored = client("logs", proxy.upstream).describe_log_streams(logGroupName="/metrics/default")["logStreams"]
    assert [x["logStreamName"] for x in stored] == ["otel-stream"]


async def test_put_metric_data_flood_respects_limits(proxy):
    s = settings("awscloudwatch")
    exp = AwsCloudWatchExporter(s, AwsCloudWatchConfig.model_validate(
        {"endpoint": proxy.url, "region": REGION, "namespace": "Flood"}))
    await exp.push(flood(5_000))  # the emulator stores PutMetricData slowly; 5,000 already needs 5 calls
    puts = proxy.calls("PutMetricData")
    assert all(c.answered == 200 for c in puts)
    assert all(len(c.body) <= 1_000_000 and len(c.json()["MetricData"]) <= 1000 for c in puts)
    assert len(puts) == 5 and sum(len(c.json()["MetricData"]) for c in puts) == 5_000
    assert counters(s, "fathom_exporter_dropped") == {}
