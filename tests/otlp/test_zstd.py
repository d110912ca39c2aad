"""zstd both ways: the receiver takes ``Content-Encoding: zstd`` with its bounds, the otlphttp exporter sends it."""

from __future__ import annotations

import aiohttp
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.component import Kind, Signal
from collector.pdata import Logs
from exporters.otlphttp import OtlpHttpExporterConfig
from exporters.otlphttp.exporter import OtlpHttpPusher
from receivers.otlp import OtlpReceiverConfig, factory
from tests.otlp.backend import Backend
from tests.otlp.conftest import Recorder, counter

zstd = pytest.importorskip("backports.zstd")


def _body(n: int = 3) -> bytes:
    req = ExportLogsServiceRequest()
    sl = req.resource_logs.add().scope_logs.add()
    for i in range(n):
        sl.log_records.add().body.string_value = f"line {i}"
    return req.SerializeToString()


@pytest.fixture
async def post(make_settings):
    """POST a zstd body to a running receiver (64 KiB limit): the status and the logs consumer."""
    consumer = Recorder()
    config = OtlpReceiverConfig.model_validate(
        {"protocols": {"http": {"endpoint": "127.0.0.1:0", "max_request_body_size": 65536}}})
    receiver = factory.create(make_settings("otlp", Kind.RECEIVER), config, {Signal.LOGS: consumer})
    await receiver.start(None)
    async with aiohttp.ClientSession() as session:
        async def send(data: bytes) -> tuple[int, str]:
            async with session.post(f"http://127.0.0.1:{receiver.http.port}/v1/logs", data=data, headers={
                "Content-Type": "application/x-protobuf", "Content-Encoding": "zstd"}) as r:
                payload = await r.read()
                return r.status, Status.FromString(payload).message if r.status != 200 else ""

        yield send, consumer
    await receiver.shutdown()


async def test_receiver_takes_zstd_frames_back_to_back(post):
    send, consumer = post
    body = _body(4)
    half = len(body) // 2  # a protobuf split anywhere concatenates back to itself
    assert await send(zstd.compress(body[:half]) + zstd.compress(body[half:])) == (200, "")
    assert [b.otlp_bytes for b in consumer.batches] == [body]


@pytest.mark.parametrize("data, status, reason, words", [
    (zstd.compress(b"\0" * 10_000_000), 413, "too_large", "decompressed"),  # a bomb of ~300 bytes
    (b"not zstd", 400, "bad_encoding", "zstd"),
    (zstd.compress(_body())[:-3], 400, "bad_encoding", "truncated"),
])
async def test_receiver_refuses_bad_zstd(post, telemetry, data, status, reason, words):
    send, consumer = post
    code, message = await send(data)
    assert code == status and words in message
    assert counter(telemetry, "fathom_receiver_malformed_requests", reason=reason, transport="http") == 1
    assert not consumer.batches


async def test_exporter_sends_zstd(make_settings):
    backend = await Backend().start()  # aiohttp undoes zstd when backports.zstd is installed
    try:
        config = OtlpHttpExporterConfig(endpoint=f"http://127.0.0.1:{backend.http_port}", compression="zstd")
        pusher = OtlpHttpPusher(make_settings("otlphttp", Kind.EXPORTER), config)
        await pusher.start(None)
        body = _body(5)
        await pusher.push(Logs(otlp_bytes=body, count=5))
        await pusher.shutdown()
    finally:
        await backend.stop()
    assert backend.http_headers[0]["Content-Encoding"] == "zstd"
    assert [m.SerializeToString() for m in backend.received[Signal.LOGS]] == [body]
