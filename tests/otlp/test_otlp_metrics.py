"""The OTLP <-> internal metric model conversion loses nothing, in both twins (ids ``py`` and ``c``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from collector.pdata import metrics as m
from collector.pdata import otlp_metrics
from collector.pdata.otlp_metrics import encode

try:
    from _fastpath import _otlp_metrics as compiled
except ImportError:
    compiled = None


@dataclass(frozen=True)
class Codec:
    decode: Callable[[bytes], list[m.ResourceMetrics]]
    encode: Callable[[list[m.ResourceMetrics]], bytes]

    def from_proto(self, request: ExportMetricsServiceRequest) -> list[m.ResourceMetrics]:
        return self.decode(request.SerializeToString())

    def to_proto(self, rms: list[m.ResourceMetrics]) -> ExportMetricsServiceRequest:
        return ExportMetricsServiceRequest.FromString(self.encode(rms))


TWINS = {
    "py": Codec(otlp_metrics.decode_request_py, otlp_metrics.encode_resource_metrics_py),
    "c": Codec(compiled.decode_request, compiled.encode_resource_metrics) if compiled else None,
}


@pytest.fixture(params=["py", "c"], scope="module")  # module scope: hypothesis runs it once per twin
def codec(request) -> Codec:
    twin = TWINS[request.param]
    if twin is None:
        if os.environ.get("FATHOM_REQUIRE_EXTENSIONS"):
            pytest.fail("the compiled OTLP metrics codec _fastpath._otlp_metrics did not load")
        pytest.skip("compiled OTLP metrics codec not built")
    return twin


u64 = st.integers(0, 2**64 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
u32 = st.integers(0, 2**32 - 1)
doubles = st.floats(allow_nan=False)
text = st.text(max_size=8)
ids = st.sampled_from([b"", bytes(range(16)), bytes(range(8))])

scalars = st.one_of(st.none(), st.booleans(), i64, doubles, text, st.binary(max_size=8))
anyvalues = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(text, inner, max_size=3),
    ),
    max_leaves=6,
)
attributes = st.dictionaries(text, anyvalues, max_size=4)
values = st.one_of(i64, doubles)
optional_double = st.one_of(st.none(), doubles)

exemplars = st.lists(st.builds(m.Exemplar, u64, values, attributes, ids, ids), max_size=2)


def _number_points():
    return st.builds(m.NumberPoint, attributes, u64, values, u64, exemplars, u32)


@st.composite
def _histogram_point(draw):
    bounds = tuple(sorted(draw(st.lists(doubles, max_size=4))))
    counts = draw(st.lists(u64, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    return m.HistogramPoint(
        draw(attributes), draw(u64), draw(u64), draw(optional_double), bounds, counts, draw(u64),
        draw(optional_double), draw(optional_double), draw(exemplars), draw(u32),
    )


buckets = st.builds(m.Buckets, st.integers(-(2**31), 2**31 - 1), st.lists(u64, max_size=4))
exponential_points = st.builds(
    m.ExponentialHistogramPoint, attributes, u64, u64, optional_double, st.integers(-10, 20), u64,
    buckets, buckets, u64, optional_double, optional_double, doubles, exemplars, u32,
)
summary_points = st.builds(
    m.SummaryPoint, attributes, u64, u64, doubles,
    st.lists(st.tuples(st.floats(0, 1), doubles), max_size=3), u64, u32,
)
temporalities = st.sampled_from(list(m.Temporality))


@st.composite
def metrics_(draw):
    kind = draw(st.sampled_from(list(m.MetricType)))
    strategy = {
        m.MetricType.GAUGE: _number_points(),
        m.MetricType.SUM: _number_points(),
        m.MetricType.HISTOGRAM: _histogram_point(),
        m.MetricType.EXPONENTIAL_HISTOGRAM: exponential_points,
        m.MetricType.SUMMARY: summary_points,
    }[kind]
    metric = m.Metric(draw(text), kind, draw(st.lists(strategy, max_size=3)), draw(text), draw(text),
                      metadata=draw(attributes))
    if kind in (m.MetricType.SUM, m.MetricType.HISTOGRAM, m.MetricType.EXPONENTIAL_HISTOGRAM):
        metric.temporality = draw(temporalities)
    if kind is m.MetricType.SUM:
        metric.monotonic = draw(st.booleans())
    return metric


scopes = st.builds(m.Scope, text, text, attributes, u32)
scope_metrics = st.builds(m.ScopeMetrics, scopes, st.lists(metrics_(), max_size=3), text)
resource_metrics = st.builds(
    m.ResourceMetrics, st.builds(m.Resource, attributes, u32), st.lists(scope_metrics, max_size=2), text
)


@settings(max_examples=40, deadline=None)
@given(st.lists(resource_metrics, max_size=2))
def test_model_survives_otlp_round_trip(codec, rms):
    data = codec.encode(rms)
    assert codec.decode(data) == rms
    # ...and the bytes are stable: model -> proto -> model -> proto.
    assert codec.to_proto(codec.decode(data)).SerializeToString() == data


def test_encode_reuses_received_bytes():
    raw = b"\x0a\x00"
    assert encode(m.Metrics(otlp_bytes=raw)) is raw


def test_lazy_decode_through_the_batch(codec):
    rms = [m.ResourceMetrics(m.Resource({"service.name": "a"}), [
        m.ScopeMetrics(m.Scope("lib", "1", {"k": [1, 2.5, b"x", {"n": None}]}), [
            m.Metric("c", m.MetricType.SUM, [m.NumberPoint({"a": True}, 5, 3, 1, flags=1)],
                     temporality=m.Temporality.DELTA, monotonic=True),
        ], "https://schema/1"),
    ], "https://schema/0")]
    batch = m.Metrics(otlp_bytes=codec.encode(rms))
    assert batch.resource_metrics == rms
    assert batch.item_count() == 1


def test_int_and_double_values_stay_distinct(codec):
    req = ExportMetricsServiceRequest()
    metric = req.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.gauge.data_points.add().as_int = 7
    metric.gauge.data_points.add().as_double = 7.0
    points = codec.from_proto(req)[0].scope_metrics[0].metrics[0].points
    assert [type(p.value) for p in points] == [int, float]
    assert codec.from_proto(codec.to_proto(codec.from_proto(req))) == codec.from_proto(req)


def test_equal_but_different_attribute_values_keep_their_types_within_a_batch(codec):
    # 1 == True == 1.0 and 0.0 == -0.0: the per-batch attribute memo must not merge them.
    values = [1, True, 1.0, 0.0, -0.0, 1, [1], {"a": 1}, b"1", "1"]
    points = [m.NumberPoint({"k": v}, 0, 0) for v in values]
    rms = [m.ResourceMetrics(m.Resource(), [m.ScopeMetrics(m.Scope(), [m.Metric("g", m.MetricType.GAUGE, points)])])]
    request = codec.to_proto(rms)
    got = [p.attributes[0].value for p in request.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points]
    assert [v.WhichOneof("value") for v in got] == [
        "int_value", "bool_value", "double_value", "double_value", "double_value", "int_value", "array_value",
        "kvlist_value", "bytes_value", "string_value"]
    assert str(got[4].double_value) == "-0.0"
    decoded = codec.decode(codec.encode(rms))[0].scope_metrics[0].metrics[0].points
    assert [type(p.attributes["k"]) for p in decoded] == [type(v) for v in values]
    assert decoded[0].attributes is decoded[5].attributes  # one set, one shared map (never edited in place)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(u64, u64, values, attributes), max_size=5))
def test_number_points_serialized_by_hand_equal_protobufs_own(codec, points):
    # The common number point (both times set, no flags, no exemplars) is written without protobuf.
    model = [m.NumberPoint(attrs, time, value, start) for start, time, value, attrs in points]
    data = codec.encode([m.ResourceMetrics(m.Resource(), [m.ScopeMetrics(m.Scope(), [
        m.Metric("s", m.MetricType.SUM, model)])])])
    # canonical: protobuf writes the parsed message back byte for byte
    assert ExportMetricsServiceRequest.FromString(data).SerializeToString() == data
    decoded = codec.decode(data)[0].scope_metrics[0].metrics[0].points
    assert decoded == model
    assert [repr(p.value) for p in decoded] == [repr(p.value) for p in model]  # -0.0, int or double


def test_an_out_of_range_number_point_fails_as_protobuf_does(codec):
    point = m.NumberPoint({}, 2**64, 1.0, 1)
    with pytest.raises(ValueError):
        codec.encode([m.ResourceMetrics(m.Resource(), [m.ScopeMetrics(m.Scope(), [
            m.Metric("g", m.MetricType.GAUGE, [point])])])])


def _request_with_point(point: bytes) -> bytes:
    """A request whose one sum point is ``point``, however it is written."""
    from collector.pdata.otlp_metrics import _REQUEST, _twin

    request = _twin(_REQUEST)()
    request.resource_metrics.add().scope_metrics.add().metrics.add(name="s").sum.data_points.append(point)
    return request.SerializeToString()


def test_number_points_in_any_field_order_or_with_more_fields_decode_alike(codec):
    from opentelemetry.proto.metrics.v1.metrics_pb2 import NumberDataPoint

    canonical = NumberDataPoint(start_time_unix_nano=1, time_unix_nano=2, as_double=0.5)
    canonical.attributes.add(key="k").value.string_value = "v"
    data = canonical.SerializeToString()
    times, attrs = data[:27], data[27:]
    flags = NumberDataPoint(flags=1).SerializeToString()
    unknown = b"\xf8\x01\x07"  # field 31, varint 7: not in the schema
    zero_start = NumberDataPoint(start_time_unix_nano=1).SerializeToString().replace(b"\x01", b"\x00")
    expected = m.NumberPoint({"k": "v"}, 2, 0.5, 1)
    for point, want in [(data, expected), (attrs + times, expected), (data + flags, replace(expected, flags=1)),
                        (data + unknown, expected), (data + attrs, expected),
                        (data + zero_start, replace(expected, start_time_ns=0))]:  # a later field wins, zero too
        (got,) = codec.decode(_request_with_point(point))[0].scope_metrics[0].metrics[0].points
        assert got == want, point


def test_a_malformed_number_point_is_a_decode_error(codec):
    from google.protobuf.message import DecodeError

    for point in [b"\x11" + bytes(8) + b"\x19" + bytes(8) + b"\x21" + bytes(8) + b"\x3a\x05ab", b"\x3a\xff"]:
        with pytest.raises(DecodeError):
            codec.decode(_request_with_point(point))
