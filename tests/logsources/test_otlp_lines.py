"""The hand-written OTLP encoder of line chunks against protobuf's own encoding of the same message."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.pdata import LineChunk, Logs
from collector.pdata.logs import _chunks_to_request
from collector.pdata.otlp_lines import encode, varint

scalars = (st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False) | st.text() | st.binary()
           | st.none())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                      max_leaves=5)
attributes = st.dictionaries(st.text(max_size=8), values, max_size=3)
# Text lines (any unicode, empty ones too) and raw bytes, which may not be UTF-8.
line = st.text().map(str.encode) | st.binary()


@st.composite
def chunks(draw) -> LineChunk:
    shared = draw(attributes)  # one file's attributes object is shared by its chunks
    time = draw(st.sampled_from([0, 1, 2**64 - 1]) | st.integers(0, 2**64 - 1))
    if draw(st.booleans()):
        lines = draw(st.lists(line.map(lambda b: b.replace(b"\n", b"")), max_size=6))
        return LineChunk(b"\n".join(lines), len(lines), draw(attributes), shared if draw(st.booleans()) else
                         draw(attributes), time)
    records = draw(st.lists(line, max_size=5))  # multiline: records keep their newlines, cut by ends
    ends, total = [], 0
    for record in records:
        total += len(record)
        ends.append(total)
    return LineChunk(b"".join(records), len(records), draw(attributes), shared, time, ends)


@settings(max_examples=50, deadline=None)
@given(st.lists(chunks(), max_size=4))
def test_bytes_equal_protobufs_encoding_and_decode_to_the_same_records(batch):
    expected = _chunks_to_request(batch)
    got = encode(batch)
    assert got == expected.SerializeToString()
    decoded = ExportLogsServiceRequest.FromString(got)
    assert decoded == expected
    bodies = [r.body.string_value for rl in decoded.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    assert bodies == [line.decode("utf-8", "replace") for chunk in batch for line in chunk.lines()]


def test_a_record_cut_inside_a_character_is_replaced_as_on_its_own():
    euro = "€".encode()
    chunk = LineChunk(b"a" + euro, 2, ends=[2, 4])  # "a\xe2" then "\x82\xac": each invalid alone
    assert encode([chunk]) == _chunks_to_request([chunk]).SerializeToString()


def test_logs_serialized_uses_it_for_chunks_and_keeps_it():
    logs = Logs(chunks=[LineChunk(b"x\ny", 2, {"service.name": "a"}, {"log.file.name": "f"}, 7)])
    data = logs.serialized()
    assert data == encode(logs.chunks) and logs.serialized() is data
    assert logs.request == ExportLogsServiceRequest.FromString(data)


def test_varint():
    assert [varint(n) for n in (0, 1, 127, 128, 300, 2**64 - 1)] == [
        b"\x00", b"\x01", b"\x7f", b"\x80\x01", b"\xac\x02", b"\xff" * 9 + b"\x01"]
