"""A real Prometheus server scrapes fathom and reads back exactly what went in.

One server per module (a few seconds in all); each test starts its own
exporter on a port the server already scrapes and polls the query API
until the values arrive.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest

from exporters.prometheus import PrometheusExporter, factory
from exporters.prometheus.config import PrometheusConfig
from tests.prometheus.conftest import DELTA, batch, counter, gauge, histogram, settings
from tests.prometheus.prometheus_server import PROMETHEUS, PrometheusServer, free_port

pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (Debian package 'prometheus')")


@pytest.fixture(scope="module")
def server() -> Iterator[PrometheusServer]:
    prom = PrometheusServer({"text": free_port(), "openmetrics": free_port()})
    yield prom
    prom.stop()


async def exporter_for(server: PrometheusServer, job: str, **config: Any) -> PrometheusExporter:
    exp = factory.create(settings(), PrometheusConfig(endpoint=f"127.0.0.1:{server.scrape_ports[job]}", **config))
    await exp.start(None)  # type: ignore[arg-type]
    return exp


async def wait_for(server: PrometheusServer, expr: str, count: int = 1, timeout: float = 8.0) -> list[dict]:
    """Poll until the query returns ``count`` series; the server scrapes once a second."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await asyncio.to_thread(server.query, expr)
        if len(result) >= count:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{expr}: got {result}\n{server.log()}")
        await asyncio.sleep(0.25)


def values(result: list[dict], label: str) -> dict[str, float]:
    return {series["metric"].get(label, ""): float(series["value"][1]) for series in result}


RESOURCE = {"service.name": "shop", "service.instance.id": "pod-1", "deployment.environment": "test"}


async def send_everything(exp: PrometheusExporter, prefix: str) -> None:
    await exp.consume(batch(
        counter(f"{prefix}.requests", 41, {"code": "200"}, unit="{request}", description="requests"),
        counter(f"{prefix}.requests", 2, {"code": "500"}, unit="{request}", description="requests"),
        gauge(f"{prefix}.memory", 123456789.5, unit="By", description="memory"),
        histogram(f"{prefix}.latency", (0.1, 0.5, 1.0), [3, 5, 1, 2], 9.25, {"route": "/cart"}, unit="s",
                  description="latency"),
        resource=RESOURCE,
    ))
    # deltas arrive in two parts and are served as one cumulative series
    await exp.consume(batch(counter(f"{prefix}.bytes", 100, unit="By", temporality=DELTA, description="bytes",
                                    start=1, t=2), resource=RESOURCE))
    await exp.consume(batch(counter(f"{prefix}.bytes", 23, unit="By", temporality=DELTA, description="bytes",
                                    start=2, t=3), resource=RESOURCE))


async def check_everything(server: PrometheusServer, prefix: str) -> None:
    requests = await wait_for(server, f"{prefix}_requests_total", 2)
    assert values(requests, "code") == {"200": 41.0, "500": 2.0}
    assert {s["metric"]["job"] for s in requests} == {"shop"}
    assert {s["metric"]["instance"] for s in requests} == {"pod-1"}
    assert {s["metric"]["otel_scope_name"] for s in requests} == {"lib"}
    assert values(await wait_for(server, f"{prefix}_memory_bytes"), "job") == {"shop": 123456789.5}
    assert values(await wait_for(server, f"{prefix}_bytes_total"), "job") == {"shop": 123.0}
    buckets = await wait_for(server, f"{prefix}_latency_seconds_bucket", 4)
    assert values(buckets, "le") == {"0.1": 3.0, "0.5": 8.0, "1.0": 9.0, "+Inf": 11.0}
    assert values(await wait_for(server, f"{prefix}_latency_seconds_count"), "route") == {"/cart": 11.0}
    assert values(await wait_for(server, f"{prefix}_latency_seconds_sum"), "route") == {"/cart": 9.25}
    median = await wait_for(server, f"histogram_quantile(0.5, {prefix}_latency_seconds_bucket)")
    assert 0.1 < float(median[0]["value"][1]) <= 0.5
    target = await wait_for(server, 'target_info{job="shop"}')
    assert target[0]["metric"]["deployment_environment"] == "test"


async def test_scraped_in_text_format(server: PrometheusServer) -> None:
    exp = await exporter_for(server, "text")
    try:
        await send_everything(exp, "text")
        await check_everything(server, "text")
    finally:
        await exp.shutdown()


async def test_scraped_as_openmetrics(server: PrometheusServer) -> None:
    exp = await exporter_for(server, "openmetrics", enable_open_metrics=True)
    try:
        await send_everything(exp, "om")
        await check_everything(server, "om")
    finally:
        await exp.shutdown()


async def test_remote_write_reaches_prometheus(server: PrometheusServer) -> None:
    import time

    from exporters.prometheusremotewrite import factory as rw_factory
    from exporters.prometheusremotewrite.exporter import RemoteWriteConfig

    config = RemoteWriteConfig(endpoint=f"{server.url}/api/v1/write", external_labels={"cluster": "c1"},
                               sending_queue={"enabled": False}, max_batch_size_bytes=400)
    exp = rw_factory.create(settings("prometheusremotewrite"), config)
    await exp.start(None)  # type: ignore[arg-type]
    now = time.time_ns()
    try:
        await exp.consume(batch(
            counter("rw.requests", 41, {"code": "200"}, unit="{request}", t=now, start=now - 10**9),
            gauge("rw.memory", 123456789.5, unit="By", t=now),
            histogram("rw.latency", (0.1, 0.5, 1.0), [3, 5, 1, 2], 9.25, {"route": "/cart"}, unit="s",
                      t=now, start=now - 10**9),
            counter("rw.bytes", 100, unit="By", temporality=DELTA, t=now - 10**6, start=now - 10**9),
            resource=RESOURCE,
        ))
        await exp.consume(batch(counter("rw.bytes", 23, unit="By", temporality=DELTA, t=now, start=now - 10**6),
                                resource=RESOURCE))
        requests = await wait_for(server, "rw_requests_total")
        assert requests[0]["metric"] == {"__name__": "rw_requests_total", "code": "200", "job": "shop",
                                         "instance": "pod-1", "otel_scope_name": "lib", "otel_scope_version": "1.2",
                                         "cluster": "c1"}
        assert float(requests[0]["value"][1]) == 41.0
        assert values(await wait_for(server, "rw_memory_bytes"), "cluster") == {"c1": 123456789.5}
        assert values(await wait_for(server, "rw_bytes_total"), "job") == {"shop": 123.0}
        buckets = await wait_for(server, "rw_latency_seconds_bucket", 4)
        assert values(buckets, "le") == {"0.1": 3.0, "0.5": 8.0, "1.0": 9.0, "+Inf": 11.0}
        assert values(await wait_for(server, "rw_latency_seconds_sum"), "route") == {"/cart": 9.25}
        assert values(await wait_for(server, "rw_latency_seconds_count"), "route") == {"/cart": 11.0}
        target = await wait_for(server, 'target_info{job="shop",instance="pod-1",cluster="c1"}')
        assert target[0]["metric"]["deployment_environment"] == "test"
    finally:
        await exp.shutdown()
