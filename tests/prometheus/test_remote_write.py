"""Remote write against a stand-in receiver: headers, snappy protobuf, byte-bounded batches, typed failures."""

from __future__ import annotations

import struct
from typing import AsyncIterator

import cramjam
import pytest
from aiohttp import web

from collector.errors import PermanentError, RetryableError, ThrottledError
from exporters.prometheusremotewrite import factory
from exporters.prometheusremotewrite.exporter import RemoteWriteConfig, RemoteWritePusher, requests
from exporters.prometheusremotewrite.proto import encode_series
from tests.prometheus.conftest import DELTA, T0, batch, counter, gauge, histogram, settings


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.status, self.answer_headers = 204, {}

    async def handle(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        self.bodies.append(bytes(cramjam.snappy.decompress_raw(await request.read())))
        return web.Response(status=self.status, headers=self.answer_headers, text="nope" if self.status >= 300 else None)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/api/v1/write", recv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield recv, f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1/write"
    await runner.cleanup()


async def pusher(url: str, **config: object) -> RemoteWritePusher:
    p = RemoteWritePusher(RemoteWriteConfig(endpoint=url, **config))
    await p.start(None)  # type: ignore[arg-type]
    return p


def test_series_encoding_matches_the_protobuf_wire_format() -> None:
    # WriteRequest{timeseries: [{labels: [{__name__: "a"}], samples: [{value: 1.0, timestamp: 300}]}]}
    expected = bytes.fromhex("0a1d" "0a0d" "0a085f5f6e616d655f5f" "120161" "120c" "09000000000000f03f" "10ac02")
    assert encode_series([("__name__", "a")], [(1.0, 300)]) == expected
    negative = encode_series([("__name__", "a")], [(1.0, -1)])
    assert negative.endswith(bytes.fromhex("10ffffffffffffffffff01"))


async def test_headers_and_body(receiver: tuple[Receiver, str]) -> None:
    recv, url = receiver
    p = await pusher(url, headers={"Authorization": "Bearer x"})
    try:
        await p.push(batch(gauge("g", 1)))
    finally:
        await p.shutdown()
    headers = recv.headers[0]
    assert headers["Content-Encoding"] == "snappy" and headers["Content-Type"] == "application/x-protobuf"
    assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    assert headers["User-Agent"].startswith("fathom/") and headers["Authorization"] == "Bearer x"
    assert b"__name__" in recv.bodies[0] and b"otel_scope_name" in recv.bodies[0]


def test_requests_are_bounded_by_bytes() -> None:
    many = batch(*[gauge(f"g{i}", i, {"k": "v" * 50}) for i in range(50)])
    config = RemoteWriteConfig(endpoint="http://127.0.0.1:1/", max_batch_size_bytes=1000)
    bodies = requests(many, config)
    assert len(bodies) > 5 and all(len(b) <= 1000 for b in bodies)
    assert b"".join(bodies) == b"".join(requests(many, config.model_copy(update={"max_batch_size_bytes": 10**9})))


def test_histogram_series() -> None:
    config = RemoteWriteConfig(endpoint="http://127.0.0.1:1/", target_info={"enabled": False})
    body = b"".join(requests(batch(histogram("h", (1.0,), [1, 2], 3.0, unit="s")), config))
    for name in (b"h_seconds_bucket", b"h_seconds_count", b"h_seconds_sum", b"+Inf", b"1.0"):
        assert name in body


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (429, {"Retry-After": "7"}, ThrottledError, 7.0),
        (503, {}, RetryableError, None),
        (500, {"Retry-After": "2"}, RetryableError, 2.0),
        (400, {}, PermanentError, None),
        (404, {}, PermanentError, None),
    ],
)
async def test_failures_are_typed(receiver: tuple[Receiver, str], status: int, headers: dict, error: type,
                                  retry_after: float | None) -> None:
    recv, url = receiver
    recv.status, recv.answer_headers = status, headers
    p = await pusher(url)
    try:
        with pytest.raises(error, match=str(status)) as caught:
            await p.push(batch(gauge("g", 1)))
    finally:
        await p.shutdown()
    assert getattr(caught.value, "retry_after", None) == retry_after


async def test_unreachable_is_retryable() -> None:
    p = await pusher("http://127.0.0.1:1/api/v1/write")
    try:
        with pytest.raises(RetryableError):
            await p.push(batch(gauge("g", 1)))
    finally:
        await p.shutdown()


async def test_deltas_are_accumulated_before_queueing(receiver: tuple[Receiver, str]) -> None:
    recv, url = receiver
    exp = factory.create(settings("prometheusremotewrite"),
                         RemoteWriteConfig(endpoint=url, sending_queue={"enabled": False},
                                           retry_on_failure={"enabled": False}, timeout="2s"))
    await exp.start(None)  # type: ignore[arg-type]
    try:
        await exp.consume(batch(counter("c", 5, temporality=DELTA, start=T0, t=T0 + 1)))
        await exp.consume(batch(counter("c", 6, temporality=DELTA, start=T0 + 1, t=T0 + 2)))
    finally:
        await exp.shutdown()
        await exp.shutdown()
    assert len(recv.bodies) == 2
    assert struct.pack("<d", 11.0) in recv.bodies[1] and struct.pack("<d", 5.0) in recv.bodies[0]


def test_config_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="http"):
        RemoteWriteConfig(endpoint="localhost:9090")
    with pytest.raises(ValueError, match="label name"):
        RemoteWriteConfig(endpoint="http://x/", external_labels={"1bad": "x"})
