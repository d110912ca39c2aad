"""Retry classification and partial-success counting of the otlp and otlphttp exporters."""

from __future__ import annotations

import asyncio
import gzip
import socket

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse

from collector.component import Kind, Signal
from collector.errors import PermanentError, RetryableError, ThrottledError
from collector.pdata import Logs
from exporters.otlp import OtlpExporterConfig, OtlpGrpcPusher, precompressed
from exporters.otlp import common
from exporters.otlp.common import parse_retry_after
from exporters.otlphttp import OtlpHttpExporterConfig, OtlpHttpPusher
from tests.otlp.backend import Backend
from tests.otlp.conftest import counter


def _batch() -> Logs:
    req = ExportLogsServiceRequest()
    sl = req.resource_logs.add().scope_logs.add()
    for i in range(4):
        sl.log_records.add().body.string_value = f"r{i}"
    return Logs(otlp_bytes=req.SerializeToString())


def _retry_trailer(seconds: float) -> tuple:
    delay = Duration()
    delay.FromNanoseconds(int(seconds * 1e9))
    status = Status(code=8)
    status.details.add().Pack(RetryInfo(retry_delay=delay))
    return (("grpc-status-details-bin", status.SerializeToString()),)


@pytest.fixture
async def backend():
    b = await Backend().start()
    yield b
    await b.stop()


def _pusher(kind: str, backend: Backend, make_settings):
    if kind == "grpc":
        config = OtlpExporterConfig(endpoint=f"127.0.0.1:{backend.grpc_port}", tls={"insecure": True})
        return OtlpGrpcPusher(make_settings("otlp", Kind.EXPORTER), config)
    config = OtlpHttpExporterConfig(endpoint=f"http://127.0.0.1:{backend.http_port}")
    return OtlpHttpPusher(make_settings("otlphttp", Kind.EXPORTER), config)


@pytest.fixture(params=["grpc", "http"])
async def pusher(request, backend, make_settings):
    p = _pusher(request.param, backend, make_settings)
    await p.start(None)
    yield p
    await p.shutdown()


@pytest.mark.parametrize("code, trailers, expected, delay", [
    (grpc.StatusCode.UNAVAILABLE, (), RetryableError, None),
    (grpc.StatusCode.UNAVAILABLE, _retry_trailer(2.5), RetryableError, 2.5),
    (grpc.StatusCode.CANCELLED, (), RetryableError, None),
    (grpc.StatusCode.DEADLINE_EXCEEDED, (), RetryableError, None),
    (grpc.StatusCode.ABORTED, (), RetryableError, None),
    (grpc.StatusCode.OUT_OF_RANGE, (), RetryableError, None),
    (grpc.StatusCode.DATA_LOSS, (), RetryableError, None),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, _retry_trailer(0.25), ThrottledError, 0.25),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, (), PermanentError, None),
    (grpc.StatusCode.INVALID_ARGUMENT, (), PermanentError, None),
    (grpc.StatusCode.UNKNOWN, (), PermanentError, None),
    (grpc.StatusCode.PERMISSION_DENIED, (), PermanentError, None),
    (grpc.StatusCode.UNAUTHENTICATED, (), PermanentError, None),
    (grpc.StatusCode.UNIMPLEMENTED, (), PermanentError, None),
    (grpc.StatusCode.INTERNAL, (), PermanentError, None),
    (grpc.StatusCode.FAILED_PRECONDITION, (), PermanentError, None),
])
@pytest.mark.parametrize("pusher", ["grpc"], indirect=True)
async def test_grpc_retry_classification(pusher, backend, code, trailers, expected, delay):
    backend.grpc_failure = (code, "nope", trailers)
    with pytest.raises(expected) as info:
        await pusher.push(_batch())
    assert type(info.value) is expected
    assert getattr(info.value, "retry_after", None) == delay
    assert code.name in str(info.value)


@pytest.mark.parametrize("status, headers, expected, delay", [
    (429, {"Retry-After": "7"}, ThrottledError, 7.0),
    (429, {}, ThrottledError, None),
    (502, {}, RetryableError, None),
    (503, {"Retry-After": "3"}, RetryableError, 3.0),
    (504, {}, RetryableError, None),
    (400, {}, PermanentError, None),
    (401, {}, PermanentError, None),
    (404, {}, PermanentError, None),
    (413, {}, PermanentError, None),
    (500, {}, PermanentError, None),
])
@pytest.mark.parametrize("pusher", ["http"], indirect=True)
async def test_http_retry_classification(pusher, backend, status, headers, expected, delay):
    backend.http_failure = (status, headers)
    with pytest.raises(expected) as info:
        await pusher.push(_batch())
    assert type(info.value) is expected
    assert getattr(info.value, "retry_after", None) == delay


def test_retry_after_as_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("120") == 120.0


async def test_partial_success_is_counted_not_retried(pusher, backend, telemetry):
    reply = ExportLogsServiceResponse()
    reply.partial_success.rejected_log_records = 3
    reply.partial_success.error_message = "too old"
    backend.partial[Signal.LOGS] = reply
    await pusher.push(_batch())
    assert counter(telemetry, "fathom_exporter_rejected_log_records") == 3


async def test_unreachable_peer_is_retryable(make_settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pusher = OtlpHttpPusher(make_settings("otlphttp", Kind.EXPORTER),
                            OtlpHttpExporterConfig(endpoint=f"http://127.0.0.1:{port}"))
    await pusher.start(None)
    try:
        with pytest.raises(RetryableError):
            await pusher.push(_batch())
    finally:
        await pusher.shutdown()


def test_exporter_configs_validate():
    with pytest.raises(ValueError, match="endpoint"):
        OtlpHttpExporterConfig()
    with pytest.raises(ValueError, match="invalid URL"):
        OtlpHttpExporterConfig(endpoint="collector:4318")
    with pytest.raises(ValueError, match="host:port"):
        OtlpExporterConfig(endpoint="collector")
    config = OtlpHttpExporterConfig(endpoint="https://gw:4318/", logs_endpoint="https://logs/ingest")
    assert config.url(Signal.TRACES) == "https://gw:4318/v1/traces"
    assert config.url(Signal.LOGS) == "https://logs/ingest"
    assert OtlpExporterConfig(endpoint="http://gw:4317").plaintext


# --- gzip off the event loop (exporters/otlp/precompressed.py) ----------------------------------


def _large_batch(records: int = 4000) -> Logs:
    """~1 MB of alike records: well over the exporter's off-loop size, and very compressible."""
    req = ExportLogsServiceRequest()
    sl = req.resource_logs.add().scope_logs.add()
    for i in range(records):
        rec = sl.log_records.add()
        rec.body.string_value = f"GET /api/items/{i % 50} 200 " + "x" * 200
        rec.attributes.add(key="n").value.int_value = i
    return Logs(otlp_bytes=req.SerializeToString())


class _Relay:
    """A TCP relay in front of the backend that counts the bytes the exporter sends."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.sent = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> "_Relay":
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target)

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, count: bool) -> None:
            while data := await r.read(65536):
                self.sent += len(data) if count else 0
                w.write(data)
                await w.drain()
            w.close()

        await asyncio.gather(pipe(client_r, server_w, True), pipe(server_r, client_w, False),
                             return_exceptions=True)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()


@pytest.fixture
async def relay(backend):
    r = await _Relay(backend.grpc_port).start()
    yield r
    await r.stop()


async def _grpc_pusher(make_settings, port: int, **config) -> OtlpGrpcPusher:
    pusher = OtlpGrpcPusher(make_settings("otlp", Kind.EXPORTER),
                            OtlpExporterConfig(endpoint=f"127.0.0.1:{port}", tls={"insecure": True}, **config))
    await pusher.start(None)
    return pusher


async def _push_once(make_settings, port: int, batch: Logs, **config) -> None:
    """Start an exporter to ``port``, push ``batch``, stop it."""
    pusher = await _grpc_pusher(make_settings, port, **config)
    try:
        await pusher.push(batch)
    finally:
        await pusher.shutdown()


def test_this_grpcio_lets_the_exporter_gzip_off_the_loop():
    # If this fails after a grpcio upgrade, the exporter still works but gzips on the event loop.
    assert precompressed.AVAILABLE


@pytest.mark.parametrize("level", [1, 9])
async def test_large_batch_arrives_gzipped_and_intact(make_settings, backend, relay, level):
    batch = _large_batch()
    await _push_once(make_settings, relay.port, batch, compression_level=level)
    # A grpcio server read it (grpc-encoding: gzip and the compressed flag agree), unchanged ...
    assert backend.received[Signal.LOGS] == [ExportLogsServiceRequest.FromString(batch.otlp_bytes)]
    # ... and it crossed the wire compressed.
    assert relay.sent < len(batch.otlp_bytes) / 5


async def test_large_batch_without_compression_is_sent_as_is(make_settings, backend, relay):
    batch = _large_batch()
    await _push_once(make_settings, relay.port, batch, compression="none")
    assert backend.received[Signal.LOGS] == [ExportLogsServiceRequest.FromString(batch.otlp_bytes)]
    assert relay.sent > len(batch.otlp_bytes)


async def test_large_batch_failure_is_classified_as_on_the_loop(make_settings, backend):
    backend.grpc_failure = (grpc.StatusCode.UNAVAILABLE, "busy", _retry_trailer(1.5))
    pusher = await _grpc_pusher(make_settings, backend.grpc_port)
    try:
        with pytest.raises(RetryableError) as info:
            await pusher.push(_large_batch())
    finally:
        await pusher.shutdown()
    assert info.value.retry_after == 1.5 and "UNAVAILABLE: busy" in str(info.value)


async def test_large_batch_to_an_unreachable_peer_is_retryable(make_settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pusher = await _grpc_pusher(make_settings, port)
    try:
        with pytest.raises(RetryableError, match="UNAVAILABLE"):
            await pusher.push(_large_batch())
    finally:
        await pusher.shutdown()


async def test_a_large_batch_to_a_silent_peer_holds_no_thread_and_can_be_cancelled(make_settings):
    """No timeout and a peer that never answers: cancelling the push cancels the call, and the
    only worker thread is free for the next large batch."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never speaks HTTP/2
        pusher = await _grpc_pusher(make_settings, silent.getsockname()[1], timeout=0,
                                    sending_queue={"num_consumers": 1})
        try:
            stuck = asyncio.ensure_future(pusher.push(_large_batch()))
            await asyncio.sleep(0.3)
            stuck.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(stuck, 5)
            free = asyncio.get_running_loop().run_in_executor(pusher._threads, lambda: "free")
            assert await asyncio.wait_for(free, 5) == "free"
        finally:
            await pusher.shutdown()


async def test_a_large_batch_after_shutdown_began_is_retryable(make_settings, backend):
    pusher = await _grpc_pusher(make_settings, backend.grpc_port)
    pusher._blocking_channel.close()  # as shutdown does, while a sender was about to call
    try:
        with pytest.raises(RetryableError, match="stopping"):
            await pusher.push(_large_batch())
    finally:
        await pusher.shutdown()


async def test_without_the_grpcio_hook_grpc_core_gzips(make_settings, backend, relay, monkeypatch):
    monkeypatch.setattr(precompressed, "AVAILABLE", False)
    batch = _large_batch()
    await _push_once(make_settings, relay.port, batch)
    assert backend.received[Signal.LOGS] == [ExportLogsServiceRequest.FromString(batch.otlp_bytes)]
    assert relay.sent < len(batch.otlp_bytes) / 5


def test_compression_level_is_checked():
    with pytest.raises(ValueError, match="compression_level"):
        OtlpExporterConfig(endpoint="gw:4317", compression_level=0)


@pytest.mark.parametrize("level", [1, 6])
def test_gzip_bytes_is_standard_gzip(level):
    body = _large_batch(200).otlp_bytes
    packed = common.gzip_bytes(body, level)
    assert packed[:2] == b"\x1f\x8b" and gzip.decompress(packed) == body


async def test_large_batch_over_mutual_tls(make_settings, tmp_path):
    from collector.tls import TLSServerConfig
    from tests.security.backend import TlsBackend
    from tests.security.certs import make_pki

    pki = make_pki(tmp_path)
    server = TLSServerConfig(cert_file=str(pki.server_cert), key_file=str(pki.server_key), client_ca_file=str(pki.ca))
    backend = await TlsBackend(server.ssl_context(), server.grpc_credentials()).start()
    batch = _large_batch()
    pusher = OtlpGrpcPusher(make_settings("otlp", Kind.EXPORTER), OtlpExporterConfig(
        endpoint=f"localhost:{backend.grpc_port}",
        tls={"ca_file": str(pki.ca), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}))
    await pusher.start(None)
    try:
        await pusher.push(batch)
    finally:
        await pusher.shutdown()
        await backend.stop()
    assert [body for _, _, body in backend.received] == [batch.otlp_bytes]
