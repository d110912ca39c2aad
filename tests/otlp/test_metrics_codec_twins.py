"""The compiled OTLP metrics codec and its Python twin agree: same models, same bytes, same errors.

Every test in test_otlp_metrics.py already runs over both twins; these feed
both the same random requests (built with the real protobuf classes, then
mutated or cut short), the same models, and the wire-format corners where a
hand-written reader most easily departs from protobuf's.
"""

from __future__ import annotations

import decimal
import enum
import os
import types

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

import _fastpath
from collector.pdata.anyvalue import _varint
from collector.pdata import metrics as m
from collector.pdata import otlp_metrics

from tests.otlp.test_otlp_metrics import TWINS, codec, resource_metrics  # noqa: F401 (codec is a fixture)

pytestmark = pytest.mark.skipif(TWINS["c"] is None and not os.environ.get("FATHOM_REQUIRE_EXTENSIONS"),
                                reason="compiled OTLP metrics codec not built")
PY, C = TWINS["py"], TWINS["c"]


def test_compiled_codec_loaded_where_built():
    """The guard: a build that produced the extension must use it."""
    here = os.path.dirname(_fastpath.__file__)
    built = any(f.startswith("_otlp_metrics.") and f.endswith((".so", ".pyd")) for f in os.listdir(here))
    if os.environ.get("FATHOM_REQUIRE_EXTENSIONS") or (built and not _fastpath.NO_EXTENSIONS):
        assert _fastpath.COMPILED_METRICS_CODEC, "the compiled OTLP metrics codec was built but did not load"
        assert otlp_metrics.decode_request is _fastpath.otlp_metrics_codec.decode_request
        assert otlp_metrics.encode_resource_metrics is _fastpath.otlp_metrics_codec.encode_resource_metrics


# --- the differential oracle ---------------------------------------------------


def _outcome(function, argument):
    """What a twin made of ``argument``: ("ok", repr of the result) or ("error", exception type)."""
    try:
        result = function(argument)
    except (DecodeError, ValueError, TypeError) as exc:
        return "error", type(exc)
    # repr tells -0.0 from 0.0, 1 from True from 1.0, a tuple from a list, and shows key order.
    return "ok", repr(result)


def assert_twins_agree(data: bytes) -> None:
    """Both decoders agree on ``data``; when it decodes, both encoders write the same bytes for the model."""
    py, c = _outcome(PY.decode, data), _outcome(C.decode, data)
    assert c == py
    if py[0] == "ok":
        model = PY.decode(data)
        assert C.encode(model) == PY.encode(model)
        assert C.decode(C.encode(model)) == model or "nan" in py[1]


# --- random requests, built with the real protobuf classes ------------------------

_INTS = {
    FieldDescriptor.TYPE_FIXED64: st.integers(0, 2**64 - 1),
    FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
    FieldDescriptor.TYPE_SFIXED64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_ENUM: st.integers(-3, 4),  # proto3 enums are open
}
_SCALARS = {
    **_INTS,
    FieldDescriptor.TYPE_DOUBLE: st.floats(),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_STRING: st.text(max_size=5),
    FieldDescriptor.TYPE_BYTES: st.binary(max_size=5),
}


def _fill(draw, message: Message, depth: int) -> None:
    """Sets a random subset of ``message``'s fields, every type, oneof and repeated field of the schema."""
    chosen_oneofs = {}
    for oneof in message.DESCRIPTOR.oneofs:
        chosen_oneofs[oneof.name] = draw(st.sampled_from([None, *[f.name for f in oneof.fields]]))
    for f in message.DESCRIPTOR.fields:
        oneof = f.containing_oneof
        if oneof is not None and len(oneof.fields) > 1:
            if chosen_oneofs[oneof.name] != f.name:
                continue
        elif not draw(st.booleans()):
            continue
        is_message = f.type == FieldDescriptor.TYPE_MESSAGE
        if is_message and depth >= 9:
            continue
        if f.is_repeated:
            for _ in range(draw(st.integers(0, 2 if depth < 5 else 1))):
                if is_message:
                    _fill(draw, getattr(message, f.name).add(), depth + 1)
                else:
                    getattr(message, f.name).append(draw(_SCALARS[f.type]))
        elif is_message:
            sub = getattr(message, f.name)
            sub.SetInParent()
            _fill(draw, sub, depth + 1)
        else:
            setattr(message, f.name, draw(_SCALARS[f.type]))


@st.composite
def requests(draw) -> bytes:
    request = ExportMetricsServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        _fill(draw, request.resource_metrics.add(), 1)
    return request.SerializeToString()


@st.composite
def mutated(draw) -> bytes:
    """A request with a few bytes overwritten, inserted, deleted, repeated or cut off."""
    data = bytearray(draw(requests()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "insert", "delete", "repeat", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if op == "set" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 4))]
        elif op == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 12))]
        else:
            del data[at:]
    return bytes(data)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]  # IndexError past the end
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def _tree(data: bytes) -> list | None:
    """``data`` as [field, wire type, value bytes, children or None], or None where it is no clean message."""
    out, pos = [], 0
    try:
        while pos < len(data):
            key, pos = _read_varint(data, pos)
            number, wire = key >> 3, key & 7
            if wire == 0:
                end = _read_varint(data, pos)[1]
            elif wire in (1, 5):
                end = pos + (8 if wire == 1 else 4)
            elif wire == 2:
                n, pos = _read_varint(data, pos)
                end = pos + n
            else:
                return None
            if number == 0 or end > len(data):
                return None
            out.append([number, wire, data[pos:end], _tree(data[pos:end]) if wire == 2 and end > pos else None])
            pos = end
    except IndexError:
        return None
    return out


def _wire(fields: list) -> bytes:
    out = bytearray()
    for number, wire, value, children in fields:
        payload = value if children is None else _wire(children)
        out += _varint(number << 3 | wire) + (_varint(len(payload)) if wire == 2 else b"") + payload
    return bytes(out)


@st.composite
def recombined(draw) -> bytes:
    """A request with fields repeated, moved or dropped at any depth: merges, oneof switches, field order."""
    tree = _tree(draw(requests()))
    messages = []

    def collect(fields: list) -> None:
        messages.append(fields)
        for field in fields:
            if field[3] is not None:
                collect(field[3])

    collect(tree)
    for _ in range(draw(st.integers(1, 4))):
        fields = draw(st.sampled_from(messages))
        if not fields:
            continue
        i = draw(st.integers(0, len(fields) - 1))
        op = draw(st.sampled_from(["repeat", "repeat later", "move last", "drop", "reverse"]))
        if op == "repeat":
            fields.insert(i, fields[i])
        elif op == "repeat later":
            fields.append(fields[i])
        elif op == "move last":
            fields.append(fields.pop(i))
        elif op == "drop":
            del fields[i]
        else:
            fields.reverse()
    return _wire(tree)


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(requests())
def test_random_requests_decode_and_encode_alike(data):
    assert_twins_agree(data)


@_FUZZ
@given(mutated())
def test_mutated_requests_decode_alike(data):
    assert_twins_agree(data)


@_FUZZ
@given(recombined())
def test_recombined_requests_decode_alike(data):
    assert_twins_agree(data)


@_FUZZ
@given(st.binary(max_size=64))
def test_random_bytes_decode_alike(data):
    assert_twins_agree(data)


@settings(max_examples=60, deadline=None)
@given(requests(), st.data())
def test_truncated_requests_decode_alike(data, draw):
    assert_twins_agree(data[:draw.draw(st.integers(0, len(data)))])


@settings(max_examples=60, deadline=None)
@given(st.lists(resource_metrics, max_size=2))
def test_models_encode_alike(rms):
    assert C.encode(rms) == PY.encode(rms)


# --- models the encoders must refuse alike ----------------------------------------

_wild = st.sampled_from([-1, 2**31, 2**32, 2**63, 2**64, -(2**63) - 1, 1.5, "1", None, True])


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["time", "start", "flags", "count", "value", "attribute", "dropped", "scale"]), _wild,
       st.sampled_from(list(m.MetricType)))
def test_out_of_range_or_mistyped_values_fail_alike(field, wild, kind):
    """One value out of its field's range or of the wrong type: both refuse it alike, or both accept it."""
    v = {"time": 2, "start": 1, "flags": 0, "count": 3, "value": 0.5, "attribute": "a", "dropped": 0, "scale": 0}
    v[field] = wild
    time, start, flags, count, value, scale = v["time"], v["start"], v["flags"], v["count"], v["value"], v["scale"]
    if kind in (m.MetricType.GAUGE, m.MetricType.SUM):
        point = m.NumberPoint({"k": v["attribute"]}, time, value, start, [m.Exemplar(time, value)], flags)
    elif kind is m.MetricType.HISTOGRAM:
        point = m.HistogramPoint({}, time, count, value, (value,), [count, count], start, flags=flags)
    elif kind is m.MetricType.EXPONENTIAL_HISTOGRAM:
        point = m.ExponentialHistogramPoint({}, time, count, None, scale, count, m.Buckets(scale, [count]),
                                            m.Buckets(), start, flags=flags)
    else:
        point = m.SummaryPoint({}, time, count, value, [(value, value)], start, flags)
    rms = [m.ResourceMetrics(m.Resource({}, v["dropped"]), [m.ScopeMetrics(m.Scope(), [
        m.Metric("x", kind, [point])])])]
    assert _outcome(C.encode, rms) == _outcome(PY.encode, rms)


# --- wire-format corners ---------------------------------------------------------------




def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _in_metric(metric: bytes) -> bytes:
    return _field(1, _field(2, _field(2, metric)))


def _in_point(point: bytes, data: int = 5) -> bytes:
    """A request whose one metric's ``data`` member ``data`` (5 gauge, 9 histogram) holds ``point``."""
    return _in_metric(_field(data, _field(1, point)))


def _attribute(keyvalue: bytes) -> bytes:
    """A request whose resource holds one attribute, ``keyvalue``."""
    return _field(1, _field(1, _field(1, keyvalue)))


def _nested_arrays(n: int) -> bytes:
    value = b"\x10\x01"  # AnyValue(bool_value=True)
    for _ in range(n):
        value = _field(5, _field(1, value))
    return _field(1, b"k") + _field(2, value)


def _nested_maps(n: int) -> bytes:
    value = b"\x10\x01"
    for _ in range(n):
        value = _field(6, _field(1, _field(1, b"x") + _field(2, value)))
    return _field(1, b"k") + _field(2, value)


def _groups(n: int, number: int = 20) -> bytes:
    return _varint(number << 3 | 3) * n + _varint(number << 3 | 4) * n


_TIMES = b"\x11" + bytes(8) + b"\x19" + bytes(8)
CORNERS = {
    # (request, decodes): as protobuf's parser of the real message types decides, except that the spec
    # parses each number point and each KeyValue as a message of its own (nesting counted afresh from
    # it) and never reads the points of a gauge or sum that a later member of the data oneof replaced
    "empty": (b"", True),
    "unknown fields of every wire type": (b"\x10\x05\x19" + bytes(8) + b"\x25" + bytes(4) + _field(9, b"zz"), True),
    "a known field of another wire type": (_in_point(b"\x10\x05" + b"\x3d" + bytes(4)), True),
    "a varint of ten bytes": (_in_point(b"\x40" + b"\xff" * 9 + b"\x7f"), True),
    "a varint of eleven bytes": (_in_point(b"\x40" + b"\xff" * 10 + b"\x01"), False),
    "a truncated varint": (b"\x10\x80", False),
    "field number 0": (b"\x00\x01", False),
    "wire type 6": (b"\x0e", False),
    "wire type 7": (b"\x0f", False),
    "a tag of six bytes": (b"\x80\x80\x80\x80\x80\x01\x01", False),
    "a tag over 32 bits": (b"\x80\x80\x80\x80\x10\x01", False),
    "an overlong tag of five bytes": (b"\x88\x80\x80\x80\x00\x01", True),
    "a length past the end": (b"\x0a\x05\x0a\x00", False),
    "a huge length": (b"\x0a\xff\xff\xff\xff\x0f", False),
    "a truncated fixed64": (_in_point(b"\x11" + bytes(7)), False),
    "an end-group tag alone": (b"\x0c", False),
    "an unknown group": (_groups(3), True),
    "an unended group": (b"\xa3\x01\x08\x01", False),
    "a group ended by another field": (b"\xa3\x01\x08\x01\xac\x01", False),
    "field number 0 inside a skipped group": (b"\xa3\x01\x00\x00\x03\x04\xa4\x01", True),  # upb lets it pass
    "field number 0 in a message": (b"\x00\x00", False),
    "groups 99 deep": (_groups(99), True),
    "groups 100 deep": (_groups(100), True),
    "groups 101 deep": (_groups(101), False),
    "groups 100 deep in a number point": (_in_point(_TIMES + _groups(100)), True),
    "groups 101 deep in a number point": (_in_point(_TIMES + _groups(101)), False),
    "groups 95 deep in a histogram point": (_in_point(_groups(95), 9), True),
    "groups 96 deep in a histogram point": (_in_point(_groups(96), 9), False),
    "arrays 49 deep": (_attribute(_nested_arrays(49)), True),
    "arrays 50 deep": (_attribute(_nested_arrays(50)), False),
    "maps 33 deep": (_attribute(_nested_maps(33)), True),
    "maps 34 deep": (_attribute(_nested_maps(34)), False),
    "invalid UTF-8 in a key": (_attribute(_field(1, b"\xff")), False),
    "a surrogate in a string": (_attribute(_field(2, _field(1, b"\xed\xa0\x80"))), False),
    "an overlong UTF-8 sequence": (_in_metric(_field(1, b"\xc0\x80")), False),
    "a code point past U+10FFFF": (_in_metric(_field(1, b"\xf4\x90\x80\x80")), False),
    "invalid UTF-8 in bytes": (_attribute(_field(2, _field(7, b"\xff"))), True),
    "invalid UTF-8 in an entity ref": (_field(1, _field(1, _field(3, _field(3, b"\xff")))), False),
    "packed bounds of 7 bytes": (_in_point(_field(7, bytes(7)), 9), False),
    "bounds packed and not": (_in_point(_field(7, bytes(16)) + b"\x39" + bytes(8) + _field(7, bytes(8)), 9), True),
    "a packed varint past its field": (_in_point(_field(8, _field(2, b"\x01\x80")), 10), False),
    "a malformed point of a replaced gauge": (_in_metric(_field(5, _field(1, b"\x3a\xff")) + _field(7, b"")), True),
    "a malformed point of the last gauge": (_in_metric(_field(7, b"") + _field(5, _field(1, b"\x3a\xff"))), False),
    "a malformed replaced histogram": (_in_metric(_field(9, _field(1, _field(7, bytes(3)))) + _field(5, b"")), False),
    "values merged across a repeated AnyValue": (_attribute(_field(1, b"k") + _field(2, _field(5, _field(1, b"")))
                                                            + _field(2, _field(5, _field(1, b"\x10\x01")))), True),
    "a string index value": (_attribute(_field(1, b"k") + _field(2, b"\x40\x05") + b"\x18\x07"), True),
}


@pytest.mark.parametrize("name", list(CORNERS))
def test_wire_format_corners(codec, name):  # noqa: F811 (codec: the fixture)
    data, decodes = CORNERS[name]
    if decodes:
        codec.decode(data)
    else:
        with pytest.raises(DecodeError):
            codec.decode(data)
    assert_twins_agree(data)


def test_a_decode_error_says_what_and_where():
    with pytest.raises(DecodeError, match=r"length 5 past the end of its message at offset 2"):
        C.decode(b"\x0a\x05\x0a\x00")


def test_points_with_one_attribute_set_share_its_map(codec):  # noqa: F811 (the fixture)
    """Maps are never edited in place (collector.pdata.metrics), so a decoded set is made once per request."""
    point = m.NumberPoint({"a": "b", "n": 1}, 2, 1.0, 1)
    rms = [m.ResourceMetrics(m.Resource(), [m.ScopeMetrics(m.Scope(), [
        m.Metric("g", m.MetricType.GAUGE, [point, point])])])]
    points = codec.decode(codec.encode(rms))[0].scope_metrics[0].metrics[0].points
    assert points[0].attributes == {"a": "b", "n": 1} and points[0].attributes is points[1].attributes


def test_compiled_points_holding_no_container_are_left_to_refcounting():
    """The compiled twin leaves points untracked by the garbage collector when they cannot be in a cycle."""
    import gc

    rms = [m.ResourceMetrics(m.Resource(), [m.ScopeMetrics(m.Scope(), [m.Metric("g", m.MetricType.GAUGE, [
        m.NumberPoint({"a": "b"}, 2, 1.0, 1), m.NumberPoint({"a": ["b"]}, 2, 1.0, 1)])])])]
    plain, holding_a_list = C.decode(C.encode(rms))[0].scope_metrics[0].metrics[0].points
    assert not gc.is_tracked(plain) and not gc.is_tracked(plain.exemplars)
    assert gc.is_tracked(holding_a_list)
    assert [plain, holding_a_list] == rms[0].scope_metrics[0].metrics[0].points


def test_a_decoded_batch_of_plain_points_is_left_wholly_to_refcounting():
    """Bounds tuples, point lists, metrics (their enum members are singletons), scopes and resources too:
    a queue of decoded batches is then nothing the collector's older generations traverse."""
    import gc

    hist = m.HistogramPoint({"a": "b"}, 2, 3, 4.0, (1.0, 5.0), [1, 1, 1], 1)
    rms = [m.ResourceMetrics(m.Resource({"service.name": "s"}), [m.ScopeMetrics(m.Scope("x"), [
        m.Metric("h", m.MetricType.HISTOGRAM, [hist], temporality=m.Temporality.CUMULATIVE)])])]
    (rm,) = C.decode(C.encode(rms))
    sm = rm.scope_metrics[0]
    metric = sm.metrics[0]
    point = metric.points[0]
    objects = [rm, rm.resource, rm.scope_metrics, sm, sm.scope, sm.metrics, metric, metric.points, point, point.bounds]
    assert [gc.is_tracked(o) for o in objects] == [False] * len(objects)


def test_choosing_the_codec_does_not_import_the_log_scanner():
    """_fastpath picks each compiled module on first use: an OTLP-only config never loads logs_to_metrics."""
    import subprocess
    import sys

    code = ("import sys, collector.pdata.otlp_metrics as c; c.decode_request(b''); "
            "assert 'collector.connectors.logs_to_metrics' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_attribute_value_holding_itself_is_a_recursion_error(codec):  # noqa: F811 (codec: the fixture)
    value: list = []
    value.append(value)
    with pytest.raises(RecursionError):
        codec.encode([m.ResourceMetrics(m.Resource({"k": value}), [])])


class _Level(enum.IntEnum):
    HIGH = 3


class _Name(str):
    pass


@pytest.mark.parametrize("value", [
    _Level.HIGH, _Name("x"), bytearray(b"ab"), (1, 2), [None, [], {}], {"a": None, 1: 2},
    types.MappingProxyType({"q": 1}), decimal.Decimal("1.5"), object, None, -0.0, float("nan"), 2**63 - 1, True,
    b"", "",
], ids=repr)
def test_any_python_value_encodes_alike(value):
    """Subclasses, other mappings and sequences, unknown types (as their str): as protobuf's setters take them."""
    number = value if isinstance(value, (int, float)) else 1.0
    for attributes in ({"k": value}, types.MappingProxyType({"k": value})):
        for point in (m.NumberPoint(attributes, 1, number, 2),
                      m.NumberPoint({}, _Level.HIGH, 1, 2, [m.Exemplar(_Level.HIGH, number, attributes, b"t")], 1)):
            metric = m.Metric(_Name("g"), m.MetricType.SUM, [point], metadata=attributes,
                              temporality=m.Temporality.DELTA, monotonic=_Level.HIGH)
            rms = [m.ResourceMetrics(m.Resource(attributes, _Level.HIGH), [
                m.ScopeMetrics(m.Scope(_Name("n"), "v", attributes), [metric])])]
            assert _outcome(C.encode, rms) == _outcome(PY.encode, rms)


def test_trace_ids_must_be_bytes_as_protobuf_requires(codec):  # noqa: F811 (codec: the fixture)
    point = m.NumberPoint({}, 1, 1.0, 2, [m.Exemplar(1, 2, {}, bytearray(b"t"))])
    with pytest.raises(TypeError):
        codec.encode([m.ResourceMetrics(m.Resource(), [m.ScopeMetrics(m.Scope(), [
            m.Metric("g", m.MetricType.GAUGE, [point])])])])


def test_many_attribute_sets_in_one_request_decode_and_encode_alike():
    """Thousands of distinct sets, each seen twice: the memo grows and still answers every lookup right."""
    points = [m.NumberPoint({"i": i % 3000, "s": str(i % 3000), "b": i % 2 == 0}, 2, 1.0, 1) for i in range(6000)]
    rms = [m.ResourceMetrics(m.Resource(), [m.ScopeMetrics(m.Scope(), [m.Metric("g", m.MetricType.GAUGE, points)])])]
    data = PY.encode(rms)
    assert C.encode(rms) == data
    assert C.decode(data) == PY.decode(data) == rms
