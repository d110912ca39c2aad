"""Throttling, service errors and refusals injected between the exporters and the emulator."""

from __future__ import annotations

import time

import pytest

from collector.pdata import metrics as m
from exporters.awscloudwatch import factory as cloudwatch_factory
from exporters.awsemf import factory as emf_factory
from tests.aws.conftest import REGION, batch, client, counters, gauge, settings
from tests.aws.proxy import FaultProxy

NOW_NS = time.time_ns()
FAST_RETRY = {"initial_interval": "10ms", "max_interval": "20ms", "max_elapsed_time": "5s"}


@pytest.fixture
async def proxy(moto):
    p = FaultProxy(moto)
    await p.start()
    yield p
    await p.stop()


def queued(factory, endpoint: str, **options):
    s = settings(factory.type)
    config = factory.config.model_validate({"endpoint": endpoint, "region": REGION, "retry_on_failure": FAST_RETRY,
                                            "sending_queue": {"enabled": False}, **options})
    return factory.create(s, config), s


def two_streams() -> m.Metrics:
    return m.Metrics([
        m.ResourceMetrics(m.Resource({"k8s.pod.name": pod}),
                          [m.ScopeMetrics(m.Scope(), [gauge("g", i, {"i": str(i)}, NOW_NS)])])
        for i, pod in enumerate(["pod-a", "pod-b"])
    ])


def stored(endpoint: str, stream: str) -> int:
    return len(client("logs", endpoint).get_log_events(logGroupName="/metrics/default", logStreamName=stream)["events"])


async def test_throttling_and_unavailable_are_retried_and_only_the_rest_is_resent(proxy):
    exp, s = queued(emf_factory, proxy.url, log_stream_name="{PodName}")
    await exp.start(None)
    proxy.inject("PutLogEvents", "throttle", "unavailable")
    await exp.consume(two_streams())
    puts = proxy.calls("PutLogEvents")
    assert [c.answered for c in puts][:2] == [400, 503]
    assert all(c.headers.get("x-amzn-logs-format") == "json/emf" for c in puts)
    assert stored(proxy.upstream, "pod-a") == 1 and stored(proxy.upstream, "pod-b") == 1
    # pod-b's request fails after pod-a's was taken: the retry must not send pod-a's again
    proxy.seen.clear()
    batch2 = two_streams()
    for rm in batch2.resource_metrics:
        rm.scope_metrics[0].metrics[0].points[0].time_ns += 10**9
    proxy.inject("PutLogEvents", None, "throttle")
    await exp.consume(batch2)
    assert [c.answered for c in proxy.calls("PutLogEvents")] == [200, 400, 200]
    assert stored(proxy.upstream, "pod-a") == 2 and stored(proxy.upstream, "pod-b") == 2
    assert counters(s, "otelcol_exporter_sent_metric_points") == {"": 4}
    assert counters(s, "otelcol_exporter_send_failed_metric_points") == {}
    await exp.shutdown()


async def test_invalid_parameter_is_permanent_and_counted(proxy):
    exp, s = queued(emf_factory, proxy.url)
    await exp.start(None)
    proxy.inject("PutLogEvents", "invalid")
    with pytest.raises(Exception) as info:
        await exp.consume(batch([gauge("g", 1.0, {}, NOW_NS)]))
    assert type(info.value).__name__ == "PermanentError"
    assert len(proxy.calls("PutLogEvents")) == 1  # not retried
    assert counters(s, "fathom_exporter_dropped") == {"rejected:InvalidParameterException": 1}
    assert counters(s, "otelcol_exporter_send_failed_metric_points") == {"": 1}
    await exp.shutdown()


async def test_put_metric_data_throttling_is_retried(proxy):
    exp, s = queued(cloudwatch_factory, proxy.url, namespace="Fathom/Retry")
    await exp.start(None)
    proxy.inject("PutMetricData", "throttle", "unavailable")
    await exp.consume(batch([gauge("g", 1.0, {"a": "b"}, NOW_NS)]))
    assert [c.answered for c in proxy.calls("PutMetricData")] == [400, 503, 200]
    listed = client("cloudwatch", proxy.upstream).list_metrics(Namespace="Fathom/Retry")["Metrics"]
    assert [x["MetricName"] for x in listed] == ["g"]
    assert counters(s, "otelcol_exporter_sent_metric_points") == {"": 1}
    await exp.shutdown()


async def test_no_peer_fails_with_a_typed_retryable_error():
    exp, s = queued(emf_factory, "http://127.0.0.1:9", retry_on_failure={"enabled": False}, timeout="1s")
    await exp.start(None)
    with pytest.raises(Exception) as info:
        await exp.consume(batch([gauge("g", 1.0, {}, NOW_NS)]))
    assert type(info.value).__name__ == "RetryableError"
    await exp.shutdown()
