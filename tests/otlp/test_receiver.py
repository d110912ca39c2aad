"""The otlp receiver answers as the OTLP spec says, and counts what it refuses."""

from __future__ import annotations

import gzip
import zlib

import aiohttp
import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from collector.component import Kind, Signal
from collector.errors import PermanentError, RefusedError, ThrottledError
from collector.pdata import Logs, Metrics
from receivers.otlp import OtlpReceiverConfig, factory
from collector.pdata.otlp import WIRES
from tests.otlp.conftest import Recorder, counter


def _logs_request(n: int = 3) -> ExportLogsServiceRequest:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.add(key="service.name").value.string_value = "svc"
    sl = rl.scope_logs.add()
    for i in range(n):
        rec = sl.log_records.add()
        rec.body.string_value = f"line {i}"
        rec.trace_id = bytes(range(16))
    return req


@pytest.fixture
async def otlp(make_settings):
    """A running receiver on random ports feeding recorders for logs and metrics."""
    consumers = {Signal.LOGS: Recorder(), Signal.METRICS: Recorder()}
    config = OtlpReceiverConfig.model_validate({"protocols": {
        "grpc": {"endpoint": "127.0.0.1:0"},
        "http": {"endpoint": "127.0.0.1:0", "max_request_body_size": 65536,
                 "cors": {"allowed_origins": ["https://*.example.com"], "max_age": 60}},
    }})
    receiver = factory.create(make_settings("otlp", Kind.RECEIVER), config, consumers)
    await receiver.start(None)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{receiver.http.port}") as session:
        yield receiver, consumers, session
    await receiver.shutdown()


async def test_http_protobuf_keeps_received_bytes(otlp):
    receiver, consumers, session = otlp
    body = _logs_request().SerializeToString()
    async with session.post("/v1/logs", data=body, headers={"Content-Type": "application/x-protobuf"}) as r:
        assert r.status == 200
        assert r.content_type == "application/x-protobuf"
        assert ExportLogsServiceResponse.FromString(await r.read()) == ExportLogsServiceResponse()
    (batch,) = consumers[Signal.LOGS].batches
    assert isinstance(batch, Logs) and batch.otlp_bytes == body and batch.item_count() == 3


async def test_http_gzip_and_deflate(otlp):
    _, consumers, session = otlp
    body = _logs_request().SerializeToString()
    for coding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        async with session.post("/v1/logs", data=packed, headers={
            "Content-Type": "application/x-protobuf", "Content-Encoding": coding,
        }) as r:
            assert r.status == 200, coding
    assert [b.otlp_bytes for b in consumers[Signal.LOGS].batches] == [body, body]


async def test_http_json_answers_json(otlp):
    _, consumers, session = otlp
    doc = {"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"body": {"stringValue": "x"}, "traceId": "5B8EFFF798038103D269B633813FC60C", "severityNumber": 9,
         "timeUnixNano": "1544712660300000000", "unknownField": 1},
    ]}]}]}
    async with session.post("/v1/logs", json=doc) as r:
        assert r.status == 200 and r.content_type == "application/json"
        assert await r.json() == {}
    rec = consumers[Signal.LOGS].batches[0].request.resource_logs[0].scope_logs[0].log_records[0]
    assert rec.trace_id == bytes.fromhex("5B8EFFF798038103D269B633813FC60C")
    assert rec.time_unix_nano == 1544712660300000000 and rec.severity_number == 9


@pytest.mark.parametrize("body, headers, status, reason", [
    (b"\xff\xff\xff", {"Content-Type": "application/x-protobuf"}, 400, "bad_protobuf"),
    (b"{not json", {"Content-Type": "application/json"}, 400, "bad_json"),
    (b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}',
     {"Content-Type": "application/json"}, 400, "bad_json"),
    (b"hello", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    (b"x" * 70_000, {"Content-Type": "application/x-protobuf"}, 413, "too_large"),
    (gzip.compress(b"\0" * 10_000_000), {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
     413, "too_large"),
    (b"not gzip", {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, 400, "bad_encoding"),
    (gzip.compress(b"abc")[:-6], {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
     400, "bad_encoding"),
    (b"", {"Content-Type": "application/x-protobuf", "Content-Encoding": "br"}, 415, "unsupported_encoding"),
])
async def test_http_refusals_are_spec_answers_and_counted(otlp, telemetry, body, headers, status, reason):
    receiver, consumers, session = otlp
    async with session.post("/v1/logs", data=body, headers=headers) as r:
        assert r.status == status
        payload = await r.read()
        if r.content_type == "application/json":
            assert "message" in await r.json()
        else:
            assert r.content_type == "application/x-protobuf"
            assert Status.FromString(payload).message
        if headers.get("Content-Encoding") == "gzip" and status == 413:  # the bomb fits, its payload not
            assert len(body) < 65536 and "decompressed" in Status.FromString(payload).message
    assert counter(telemetry, "fathom_receiver_malformed_requests", reason=reason, transport="http") == 1
    # ... and the server keeps serving.
    async with session.post("/v1/logs", data=_logs_request().SerializeToString(),
                            headers={"Content-Type": "application/x-protobuf"}) as r:
        assert r.status == 200
    assert len(consumers[Signal.LOGS].batches) == 1


async def test_http_unserved_signal_and_method(otlp):
    _, _, session = otlp
    async with session.post("/v1/traces", data=b"", headers={"Content-Type": "application/x-protobuf"}) as r:
        assert r.status == 404
    async with session.get("/v1/logs") as r:
        assert r.status == 405


@pytest.mark.parametrize("error, status, retry_after", [
    (PermanentError("bad record"), 400, None),
    (ThrottledError("slow down", retry_after=2.5), 429, "3"),
    (RefusedError("memory limit reached"), 503, "1"),
])
async def test_http_pipeline_refusals(otlp, error, status, retry_after):
    _, consumers, session = otlp
    consumers[Signal.LOGS].error = error
    async with session.post("/v1/logs", data=_logs_request().SerializeToString(),
                            headers={"Content-Type": "application/x-protobuf"}) as r:
        assert r.status == status
        assert r.headers.get("Retry-After") == retry_after
        assert Status.FromString(await r.read()).message == str(error)


async def test_http_cors(otlp):
    _, _, session = otlp
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    async with session.options("/v1/logs", headers=preflight) as r:
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert r.headers["Access-Control-Allow-Methods"] == "POST"
        assert r.headers["Access-Control-Max-Age"] == "60"
    async with session.options("/v1/logs", headers={**preflight, "Origin": "https://evil.test"}) as r:
        assert r.status == 204 and "Access-Control-Allow-Origin" not in r.headers
    async with session.post("/v1/logs", data=b"", headers={"Content-Type": "application/x-protobuf",
                                                          "Origin": "https://app.example.com"}) as r:
        assert r.status == 200
        assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def _grpc_export(receiver, signal: Signal):
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{receiver.grpc.port}")
    return channel, channel.unary_unary(WIRES[signal].grpc_method)


async def test_grpc_keeps_received_bytes_and_counts(otlp):
    receiver, consumers, _ = otlp
    channel, export = _grpc_export(receiver, Signal.LOGS)
    async with channel:
        body = _logs_request(5).SerializeToString()
        assert await export(body) == b""
    (batch,) = consumers[Signal.LOGS].batches
    assert batch.otlp_bytes == body and batch.item_count() == 5


async def test_grpc_metrics_batch_stays_serialized(otlp):
    receiver, consumers, _ = otlp
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    req = ExportMetricsServiceRequest()
    metric = req.resource_metrics.add().scope_metrics.add().metrics.add(name="m")
    metric.sum.data_points.add().as_int = 1
    metric.sum.data_points.add().as_int = 2
    channel, export = _grpc_export(receiver, Signal.METRICS)
    async with channel:
        await export(req.SerializeToString())
    (batch,) = consumers[Signal.METRICS].batches
    assert isinstance(batch, Metrics) and batch.otlp_bytes == req.SerializeToString() and batch.item_count() == 2


def _details(exc: grpc.aio.AioRpcError) -> Status:
    for key, value in exc.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return Status.FromString(value)
    raise AssertionError("no status details")


@pytest.mark.parametrize("error, code, delay", [
    (PermanentError("bad record"), grpc.StatusCode.INVALID_ARGUMENT, None),
    (ThrottledError("slow down", retry_after=2.5), grpc.StatusCode.RESOURCE_EXHAUSTED, 2.5),
    (RefusedError("memory limit reached"), grpc.StatusCode.UNAVAILABLE, 1.0),
])
async def test_grpc_pipeline_refusals(otlp, error, code, delay):
    receiver, consumers, _ = otlp
    consumers[Signal.LOGS].error = error
    channel, export = _grpc_export(receiver, Signal.LOGS)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await export(_logs_request().SerializeToString())
    assert info.value.code() == code and info.value.details() == str(error)
    details = _details(info.value).details
    if delay is None:
        assert not details
    else:
        retry = RetryInfo()
        assert details[0].Unpack(retry)
        assert retry.retry_delay.ToNanoseconds() == int(delay * 1e9)


async def test_grpc_malformed_and_unserved(otlp, telemetry):
    receiver, consumers, _ = otlp
    channel, export = _grpc_export(receiver, Signal.LOGS)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await export(b"\xff\xff\xff")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert await export(_logs_request().SerializeToString()) == b""
        traces = channel.unary_unary(WIRES[Signal.TRACES].grpc_method)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await traces(b"")
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert counter(telemetry, "fathom_receiver_malformed_requests", reason="bad_protobuf", transport="grpc") == 1


def test_config_needs_a_protocol_and_bare_keys_enable():
    with pytest.raises(ValueError, match="at least one"):
        OtlpReceiverConfig.model_validate({})
    config = OtlpReceiverConfig.model_validate({"protocols": {"grpc": None}})
    assert config.protocols.grpc.endpoint == "127.0.0.1:4317" and config.protocols.http is None
    with pytest.raises(ValueError, match="endpont"):
        OtlpReceiverConfig.model_validate({"protocols": {"http": {"endpont": "x"}}})
