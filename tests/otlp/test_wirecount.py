"""The receiver's count-without-parsing agrees with a full parse, and refuses what upb refuses."""

from __future__ import annotations

import os

import aiohttp
import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import _fastpath
from collector.component import Kind, Signal
from collector.pdata.otlp import WIRES
from receivers.otlp import OtlpReceiverConfig, factory
from receivers.otlp.wirecount import count_items
from tests.otlp.conftest import Recorder, counter

_METRIC_KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


def _logs(shape: list[list[int]]) -> bytes:
    req = ExportLogsServiceRequest()
    for scopes in shape:
        rl = req.resource_logs.add()
        rl.resource.attributes.add(key="service.name").value.string_value = "svc"
        for n in scopes:
            sl = rl.scope_logs.add()
            sl.scope.name = "s"
            for i in range(n):
                sl.log_records.add().body.string_value = f"line {i}"
    return req.SerializeToString()


def _traces(shape: list[list[int]]) -> bytes:
    req = ExportTraceServiceRequest()
    for scopes in shape:
        rs = req.resource_spans.add()
        for n in scopes:
            ss = rs.scope_spans.add()
            for i in range(n):
                ss.spans.add(name=f"span {i}", trace_id=bytes(16), span_id=bytes(8))
    return req.SerializeToString()


def _metrics(shape: list[list[int]]) -> bytes:
    req = ExportMetricsServiceRequest()
    for scopes in shape:
        sm = req.resource_metrics.add().scope_metrics.add()
        for i, n in enumerate(scopes):
            metric = sm.metrics.add(name=f"m{i}")
            kind = _METRIC_KINDS[i % len(_METRIC_KINDS)]
            data = getattr(metric, kind)
            data.SetInParent()  # a metric of this kind even with no points
            for _ in range(n):
                data.data_points.add().attributes.add(key="k").value.string_value = "v"
    return req.SerializeToString()


_BUILD = {Signal.LOGS: _logs, Signal.TRACES: _traces, Signal.METRICS: _metrics}
_shapes = st.lists(st.lists(st.integers(0, 5), max_size=6), max_size=4)


@pytest.mark.parametrize("signal", list(Signal), ids=lambda s: s.value)
@given(shape=_shapes)
@settings(max_examples=40, deadline=None)
def test_count_matches_a_full_parse(signal: Signal, shape: list[list[int]]) -> None:
    data = _BUILD[signal](shape)
    wire = WIRES[signal]
    assert count_items(signal, data) == wire.count(wire.request.FromString(data))


def test_metric_without_data_counts_nothing() -> None:
    req = ExportMetricsServiceRequest()
    req.resource_metrics.add().scope_metrics.add().metrics.add(name="empty")
    assert count_items(Signal.METRICS, req.SerializeToString()) == 0


@pytest.mark.parametrize("data", [
    b"\xff\xff\xff",                       # a varint that never ends
    b"\x0a\x10\x12\x02",                   # resource_logs claims 16 bytes, has 2
    b"\x0a\x02\x12\x05abc",                # a nested length runs past its parent
    b"\x0b",                               # a group start: not OTLP
], ids=["varint", "truncated", "nested-overrun", "group"])
def test_malformed_is_refused(data: bytes) -> None:
    with pytest.raises(DecodeError):
        count_items(Signal.LOGS, data)
    with pytest.raises(DecodeError):
        WIRES[Signal.LOGS].request.FromString(data)  # the full parser agrees


class Parser(Recorder):
    """A processor that needs the message: parses the batch before keeping it."""

    async def consume(self, batch):  # type: ignore[no-untyped-def]
        batch.request  # noqa: B018 - parsing is the point
        await super().consume(batch)


async def test_item_broken_inside_is_400_where_it_is_parsed(make_settings, telemetry) -> None:
    """Not parsed by the receiver, a bad string inside a record still gets the spec's 400,
    from the component that parses it; a passthrough consumer gets the bytes as sent."""
    good = _logs([[2]])
    # proto3 strings must be UTF-8: make the first record's body invalid, keeping every length.
    bad = good.replace(b"line 0", b"line \xff")
    assert count_items(Signal.LOGS, bad) == 2
    for consumer, status in ((Parser(), 400), (Recorder(), 200)):
        config = OtlpReceiverConfig.model_validate({"protocols": {"http": {"endpoint": "127.0.0.1:0"}}})
        receiver = factory.create(make_settings("otlp", Kind.RECEIVER), config, {Signal.LOGS: consumer})
        await receiver.start(None)
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(f"http://127.0.0.1:{receiver.http.port}/v1/logs", data=bad,
                                        headers={"Content-Type": "application/x-protobuf"}) as r:
                    assert r.status == status
        finally:
            await receiver.shutdown()
        if status == 200:
            assert [b.otlp_bytes for b in consumer.batches] == [bad]
    assert counter(telemetry, "fathom_receiver_malformed_requests") == 0  # reached the pipeline


def _outcome(count, signal: Signal, data: bytes):
    try:
        return count(signal, data)
    except DecodeError:
        return DecodeError


@pytest.mark.skipif(_fastpath.otlp_metrics_codec is None and not os.environ.get("FATHOM_REQUIRE_EXTENSIONS"),
                    reason="compiled wire reader not built")
@pytest.mark.parametrize("signal", list(Signal), ids=lambda s: s.value)
@given(shape=_shapes, data=st.data())
@settings(max_examples=int(os.environ.get("FATHOM_FUZZ_EXAMPLES", 60)), deadline=None)
def test_the_compiled_count_agrees_with_the_skeleton(signal: Signal, shape, data) -> None:
    """Same count or the same refusal on valid, mutated, truncated and group-nested bytes."""
    from receivers.otlp.wirecount import count_items_py

    raw = bytearray(_BUILD[signal](shape))
    for _ in range(data.draw(st.integers(0, 3))):
        op = data.draw(st.integers(0, 3))
        at = data.draw(st.integers(0, len(raw)))
        if op == 0 and raw:
            del raw[min(at, len(raw) - 1)]
        elif op == 1:
            raw[at:at] = data.draw(st.sampled_from([b"\x0b", b"\x0c", b"\x13\x14", b"\x08\x80", b"\x09" + bytes(8),
                                                    b"\x0d" + bytes(4), b"\x78\x01", b"\x80\x80\x80\x80\x10\x00",
                                                    b"\xfa\x01\x00", b"\x00", b"\x0a\x00", b"\x12\x00"]))
        elif op == 2:
            del raw[at:]
        else:  # unknown groups nested around the limit of 100
            depth = data.draw(st.integers(95, 102))
            raw[at:at] = b"\x7b" * depth + b"\x7c" * depth
    raw = bytes(raw)
    assert _outcome(count_items, signal, raw) == _outcome(count_items_py, signal, raw)
