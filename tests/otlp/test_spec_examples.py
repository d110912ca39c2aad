"""The OTLP specification's JSON examples produce the same records as their protobuf twins,
over OTLP/HTTP JSON and protobuf alike, and our JSON encoding reads back the same."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from google.protobuf import text_format

from collector.component import Kind, Signal
from collector.pdata.otlp_metrics import decode_request
from receivers.otlp import OtlpReceiverConfig, factory
from collector.pdata.otlp import WIRES, batch_message, from_json, to_json
from tests.otlp.conftest import Recorder

EXAMPLES = Path(__file__).parent / "examples"
FILES = {Signal.TRACES: "trace", Signal.METRICS: "metrics", Signal.LOGS: "logs"}


def _twin(signal: Signal):
    return text_format.Parse((EXAMPLES / f"{FILES[signal]}.txtpb").read_text(), WIRES[signal].request())


@pytest.mark.parametrize("signal", list(Signal))
async def test_json_example_equals_protobuf_twin(signal, make_settings):
    recorders = {s: Recorder() for s in Signal}
    config = OtlpReceiverConfig.model_validate({"protocols": {"http": {"endpoint": "127.0.0.1:0"}}})
    receiver = factory.create(make_settings("otlp", Kind.RECEIVER), config, recorders)
    await receiver.start(None)
    twin = _twin(signal)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{receiver.http.port}") as session:
            path = WIRES[signal].default_path
            json_body = (EXAMPLES / f"{FILES[signal]}.json").read_bytes()
            for body, media in ((json_body, "application/json"),
                                (twin.SerializeToString(), "application/x-protobuf")):
                async with session.post(path, data=body, headers={"Content-Type": media}) as r:
                    assert r.status == 200, await r.read()
    finally:
        await receiver.shutdown()
    from_json_batch, from_proto_batch = recorders[signal].batches
    assert batch_message(from_json_batch) == batch_message(from_proto_batch) == twin
    assert from_json_batch.item_count() == from_proto_batch.item_count() > 0
    if signal is Signal.METRICS:
        assert from_json_batch.resource_metrics == decode_request(twin.SerializeToString())


@pytest.mark.parametrize("signal", list(Signal))
def test_our_json_is_otlp_json(signal):
    twin = _twin(signal)
    text = to_json(twin)
    assert from_json(WIRES[signal].request, text) == twin
    if signal is not Signal.METRICS:
        assert b'"5b8efff798038103d269b633813fc60c"' in text  # hex ids, not base64
    if signal is Signal.METRICS:
        assert b'"aggregationTemporality":1' in text  # enums as integers
    assert b'"1544712660' in text  # 64-bit integers as strings
