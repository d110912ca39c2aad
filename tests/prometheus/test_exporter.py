"""The prometheus exporter over HTTP: lifecycle, negotiation, gzip, expiry."""

from __future__ import annotations

import asyncio
import gzip
from typing import AsyncIterator

import aiohttp
import pytest

from collector.component import Kind, Signal
from exporters.prometheus import PrometheusExporter, factory
from exporters.prometheus.config import PrometheusConfig
from exporters.prometheus.render import CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT
from tests.prometheus.conftest import DELTA, T0, batch, counter, gauge, needs_promtool, promtool_check, settings


class NoHost:
    def get_extension(self, id: object) -> None:
        return None


async def started(**config: object) -> PrometheusExporter:
    exporter = factory.create(settings(), PrometheusConfig(endpoint="127.0.0.1:0", **config))
    await exporter.start(NoHost())
    return exporter


@pytest.fixture
async def exporter() -> AsyncIterator[PrometheusExporter]:
    exp = await started(enable_open_metrics=True)
    yield exp
    await exp.shutdown()


async def scrape(exp: PrometheusExporter, **headers: str) -> tuple[aiohttp.ClientResponse, bytes]:
    headers = {"Accept-Encoding": "identity", **headers}
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.get(f"http://127.0.0.1:{exp.port}/metrics", headers=headers) as response:
            return response, await response.read()


def test_factory_declares_a_metrics_exporter() -> None:
    assert factory.type == "prometheus" and factory.kind is Kind.EXPORTER
    assert factory.supports(Signal.METRICS) and not factory.supports(Signal.LOGS)
    assert PrometheusConfig().endpoint == "127.0.0.1:9464" and PrometheusConfig().metric_expiration == 300.0


@pytest.mark.parametrize("bad", [{"endpoint": "9464"}, {"const_labels": {"bad-name": "x"}},
                                 {"metric_expiration": "0s"}, {"translation_strategy": "Nope"}, {"unknown": 1}])
def test_bad_config_is_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        PrometheusConfig(**bad)


async def test_lifecycle_in_any_order() -> None:
    exp = factory.create(settings(), PrometheusConfig(endpoint="127.0.0.1:0"))
    await exp.shutdown()
    await exp.shutdown()
    await exp.start(NoHost())  # after shutdown: stays stopped
    assert not exp._running
    exp = await started()
    await exp.start(NoHost())
    await exp.shutdown()
    await exp.shutdown()


async def test_a_busy_port_fails_start_clearly(exporter: PrometheusExporter) -> None:
    other = factory.create(settings(), PrometheusConfig(endpoint=f"127.0.0.1:{exporter.port}"))
    with pytest.raises(OSError, match="cannot listen on"):
        await other.start(NoHost())
    await other.shutdown()


async def test_scrape_serves_text_by_default(exporter: PrometheusExporter) -> None:
    await exporter.consume(batch(counter("requests", 3, {"path": "/"}, description="requests")))
    response, body = await scrape(exporter)
    assert response.status == 200 and response.headers["Content-Type"] == CONTENT_TYPE_TEXT
    assert b'requests_total{path="/"' in body and b"# EOF" not in body


async def test_openmetrics_by_negotiation(exporter: PrometheusExporter) -> None:
    await exporter.consume(batch(counter("requests", 3)))
    response, body = await scrape(exporter, Accept="application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
    assert response.headers["Content-Type"] == CONTENT_TYPE_OPENMETRICS
    assert body.endswith(b"# EOF\n") and b"requests_created" in body


async def test_openmetrics_only_when_enabled() -> None:
    exp = await started()
    try:
        response, body = await scrape(exp, Accept="application/openmetrics-text;version=1.0.0")
        assert response.headers["Content-Type"] == CONTENT_TYPE_TEXT and b"# EOF" not in body
    finally:
        await exp.shutdown()


async def test_gzip_when_asked(exporter: PrometheusExporter) -> None:
    await exporter.consume(batch(gauge("g", 1)))
    response, body = await scrape(exporter, **{"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"g{" in gzip.decompress(body)


async def test_deltas_are_served_cumulative(exporter: PrometheusExporter) -> None:
    for i in range(4):
        await exporter.consume(batch(counter("hits", 2, temporality=DELTA, start=T0 + i, t=T0 + i + 1)))
    _, body = await scrape(exporter)
    assert b"hits_total{" in body and body.split(b"hits_total{")[1].split(b"\n")[0].endswith(b"} 8")


async def test_series_expire_without_scrapes() -> None:
    exp = await started(metric_expiration="0.2s")
    try:
        await exp.consume(batch(gauge("short.lived", 1)))
        assert len(exp.store) == 1
        await asyncio.sleep(0.45)
        assert len(exp.store) == 0
    finally:
        await exp.shutdown()


async def test_consume_does_not_change_the_batch(exporter: PrometheusExporter) -> None:
    shared = batch(counter("c", 1, temporality=DELTA))
    await exporter.consume(shared)
    await exporter.consume(batch(counter("c", 1, temporality=DELTA, start=T0 + 10**9, t=T0 + 2 * 10**9)))
    assert shared.resource_metrics[0].scope_metrics[0].metrics[0].points[0].value == 1


@needs_promtool
async def test_promtool_accepts_the_scrape(exporter: PrometheusExporter) -> None:
    await exporter.consume(batch(counter("c", 1), gauge("g", 2.5, unit="By"), resource={"service.name": "a", "x": "y"}))
    _, body = await scrape(exporter)
    promtool_check(body)


async def test_series_survive_a_hand_over_to_a_successor() -> None:
    old = await started()
    await old.consume(batch(counter("requests", 3, {"path": "/"}, description="requests")))
    new = factory.create(settings(), PrometheusConfig(endpoint="127.0.0.1:0"))
    new.take_over(await old.hand_over())
    await new.start(NoHost())
    _, body = await scrape(new)
    assert [line for line in body.decode().splitlines() if line.startswith("requests_total")] == [
        'requests_total{path="/",otel_scope_name="lib",otel_scope_version="1.2",job="api",instance="i-1"} 3']
    await new.shutdown()
