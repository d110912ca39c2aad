"""OTLP protobuf <-> the internal metric model, field for field.

The OTLP receiver hands on ``Metrics(otlp_bytes=...)``; a component that
looks inside decodes it here (``Metrics.resource_metrics``), and the OTLP
exporters encode it back here unless the original bytes are still valid.
Every metric type, int/double values, exemplars, flags, attributes of every
``AnyValue`` type, schema urls, scope attributes and metric metadata survive
a round trip.

Both directions go through a twin of the OTLP request type in which every
``KeyValue`` field and the gauge and sum points are plain ``bytes`` (same
field numbers, so the wire format is identical): attribute sets cross the
Python boundary as bytes, and ``AttributeMemo`` converts each distinct set
once per batch. The common number point (both times, a value, attributes,
nothing else) is read and written by hand with ``struct``, in the field order
protobuf itself writes; any other point goes through its message.

This module is the executable spec of the compiled codec
``_fastpath/_otlp_metrics.pyx``, which does the same without protobuf
messages; ``decode_request`` and ``encode_resource_metrics`` are the compiled
functions when it was built (see ``_fastpath``), else this module's
``decode_request_py`` and ``encode_resource_metrics_py``.

Two corners the internal model cannot tell apart: a number point or exemplar
without a value (OTLP leaves the ``value`` oneof unset, usually together with
``FLAG_NO_RECORDED_VALUE``) decodes as ``0.0``, and ``Resource.entity_refs``
is not carried.
"""

from __future__ import annotations

import functools
import struct
from typing import Any, Callable

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

import _fastpath
from collector.pdata.anyvalue import AttributeMemo
from collector.pdata.metrics import (
    Buckets,
    Exemplar,
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    Metrics,
    MetricType,
    NumberPoint,
    Resource,
    ResourceMetrics,
    Scope,
    ScopeMetrics,
    SummaryPoint,
    Temporality,
)

_TEMPORALITIES = {t.value: t for t in Temporality}
_KEY_VALUE = ".opentelemetry.proto.common.v1.KeyValue"
_NUMBER_POINT = ".opentelemetry.proto.metrics.v1.NumberDataPoint"
#: start_time_unix_nano (2) and time_unix_nano (3), fixed64, then as_double (4) or as_int (6).
_TIMES_DOUBLE = struct.Struct("<BQBQBd")
_TIMES_INT = struct.Struct("<BQBQBq")


@functools.cache
def _twin(name: str, tracked: tuple[str, ...] = ()) -> type[Message]:
    """The OTLP message ``name`` with ``KeyValue`` fields and gauge and sum points as bytes, in a pool of its own.

    Fields of ``name`` named in ``tracked`` get explicit presence, so that
    ``ListFields`` shows them when they were read, even as zero.
    """
    pool = descriptor_pool.DescriptorPool()
    as_bytes = {_KEY_VALUE, _NUMBER_POINT}

    def raw(messages: Any, prefix: str) -> None:
        for message in messages:
            full_name = f"{prefix}.{message.name}"
            for f in message.field:
                if f.type_name in as_bytes:
                    f.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
                    f.ClearField("type_name")
                if full_name == name and f.name in tracked:  # proto3 `optional`: a synthetic oneof of its own
                    f.proto3_optional, f.oneof_index = True, len(message.oneof_decl)
                    message.oneof_decl.add(name=f"_{f.name}")
            raw(message.nested_type, full_name)

    for module in (common_pb2, resource_pb2, metrics_pb2, metrics_service_pb2):
        file = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(file)
        raw(file.message_type, file.package)
        pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


_REQUEST = ExportMetricsServiceRequest.DESCRIPTOR.full_name


def decode_request_py(data: bytes) -> list[ResourceMetrics]:
    """Serialized ``ExportMetricsServiceRequest`` to the internal model.

    Raises ``google.protobuf.message.DecodeError`` on malformed bytes.
    """
    return _Decoder().request(_twin(_REQUEST).FromString(data))


def encode_resource_metrics_py(resource_metrics: list[ResourceMetrics]) -> bytes:
    """The model as a serialized ``ExportMetricsServiceRequest``; the model is only read.

    Raises ``ValueError`` for a value out of its field's range and
    ``TypeError`` for a value of the wrong type.
    """
    request = _twin(_REQUEST)()
    _Encoder().request(request, resource_metrics)
    return request.SerializeToString()


decode_request: Callable[[bytes], list[ResourceMetrics]]
encode_resource_metrics: Callable[[list[ResourceMetrics]], bytes]
if _fastpath.otlp_metrics_codec is not None:
    decode_request = _fastpath.otlp_metrics_codec.decode_request
    encode_resource_metrics = _fastpath.otlp_metrics_codec.encode_resource_metrics
else:
    decode_request, encode_resource_metrics = decode_request_py, encode_resource_metrics_py


def from_proto(request: ExportMetricsServiceRequest) -> list[ResourceMetrics]:
    """Build model objects from a request; the request is only read."""
    return decode_request(request.SerializeToString())


def encode(batch: Metrics) -> bytes:
    """The batch as a serialized ``ExportMetricsServiceRequest``, reusing received bytes."""
    if batch.otlp_bytes is not None:
        return batch.otlp_bytes
    return encode_resource_metrics(batch.resource_metrics)


def to_proto(batch: Metrics) -> ExportMetricsServiceRequest:
    """A new request holding the batch."""
    return ExportMetricsServiceRequest.FromString(encode(batch))


# --- OTLP to model -----------------------------------------------------------


def _temporality(value: int) -> Temporality:
    # proto3 enums are open: an unknown number reads as "unspecified".
    return _TEMPORALITIES.get(value, Temporality.UNSPECIFIED)


def _value(p: Any) -> float | int:
    return p.as_int if p.HasField("as_int") else p.as_double


def _optional(p: Any, name: str) -> float | None:
    return getattr(p, name) if p.HasField(name) else None


class _Decoder:
    """One request's decoding, sharing one attribute memo.

    Points are built in one comprehension or call each, their fields read in
    place: a Python call per field was a third of a point's cost.
    """

    __slots__ = ("attributes", "attribute_tail", "point_class", "tail_class")

    def __init__(self) -> None:
        memo = AttributeMemo()
        self.attributes, self.attribute_tail = memo.decode, memo.decode_tail
        self.point_class = _twin(_NUMBER_POINT[1:])
        # The tail after the times and value must not set them again, zero included.
        self.tail_class = _twin(_NUMBER_POINT[1:], ("start_time_unix_nano", "time_unix_nano"))

    def request(self, request: Any) -> list[ResourceMetrics]:
        attributes, out = self.attributes, []
        for rm in request.resource_metrics:
            scopes = []
            for sm in rm.scope_metrics:
                s = sm.scope
                scope = Scope(s.name, s.version, attributes(s.attributes), s.dropped_attributes_count)
                scopes.append(ScopeMetrics(scope, list(map(self.metric, sm.metrics)), sm.schema_url))
            resource = Resource(attributes(rm.resource.attributes), rm.resource.dropped_attributes_count)
            out.append(ResourceMetrics(resource, scopes, rm.schema_url))
        return out

    def metric(self, m: Any) -> Metric:
        kind = m.WhichOneof("data")
        out = Metric(m.name, MetricType.GAUGE, [], m.description, m.unit, metadata=self.attributes(m.metadata))
        if kind == "gauge":
            out.points = self.number_points(m.gauge.data_points)
        elif kind == "sum":
            out.type = MetricType.SUM
            out.points = self.number_points(m.sum.data_points)
            out.temporality = _temporality(m.sum.aggregation_temporality)
            out.monotonic = m.sum.is_monotonic
        elif kind == "histogram":
            out.type = MetricType.HISTOGRAM
            out.points = self.histogram_points(m.histogram.data_points)
            out.temporality = _temporality(m.histogram.aggregation_temporality)
        elif kind == "exponential_histogram":
            out.type = MetricType.EXPONENTIAL_HISTOGRAM
            out.points = list(map(self.exponential_point, m.exponential_histogram.data_points))
            out.temporality = _temporality(m.exponential_histogram.aggregation_temporality)
        elif kind == "summary":
            out.type = MetricType.SUMMARY
            out.points = list(map(self.summary_point, m.summary.data_points))
        # A metric with no data oneof set stays an empty gauge: nothing to lose.
        return out

    def exemplars(self, exemplars: Any) -> list[Exemplar]:
        if not exemplars:
            return []
        return [
            Exemplar(e.time_unix_nano, _value(e), self.attributes(e.filtered_attributes), e.trace_id, e.span_id)
            for e in exemplars
        ]

    def number_points(self, points: Any) -> list[NumberPoint]:
        return list(map(self.number_point, points[:]))

    def number_point(self, data: bytes) -> NumberPoint:
        """A serialized ``NumberDataPoint``; the common shape read by hand, as the encoder writes it.

        That shape is both times and a value as the first fields, then only
        attributes, whose bytes key the attribute memo as they are.
        """
        if len(data) >= 27 and data[0] == 0x11 and data[9] == 0x19 and (data[18] == 0x21 or data[18] == 0x31):
            attributes = self.attribute_tail(data[27:], self.tail_class.FromString)
            if attributes is not None:
                _, start, _, time, _, value = (_TIMES_DOUBLE if data[18] == 0x21 else _TIMES_INT).unpack_from(data)
                return NumberPoint(attributes, time, value, start)
        p = self.point_class.FromString(data)
        return NumberPoint(
            self.attributes(p.attributes), p.time_unix_nano, _value(p), p.start_time_unix_nano,
            self.exemplars(p.exemplars), p.flags,
        )

    def histogram_points(self, points: Any) -> list[HistogramPoint]:
        attributes, exemplars = self.attributes, self.exemplars
        return [
            HistogramPoint(
                attributes(p.attributes), p.time_unix_nano, p.count, p.sum if p.HasField("sum") else None,
                tuple(p.explicit_bounds[:]), p.bucket_counts[:], p.start_time_unix_nano,
                p.min if p.HasField("min") else None, p.max if p.HasField("max") else None,
                exemplars(p.exemplars), p.flags,
            )
            for p in points
        ]

    def exponential_point(self, p: Any) -> ExponentialHistogramPoint:
        return ExponentialHistogramPoint(
            self.attributes(p.attributes), p.time_unix_nano, p.count, _optional(p, "sum"), p.scale,
            p.zero_count, Buckets(p.positive.offset, list(p.positive.bucket_counts)),
            Buckets(p.negative.offset, list(p.negative.bucket_counts)), p.start_time_unix_nano,
            _optional(p, "min"), _optional(p, "max"), p.zero_threshold, self.exemplars(p.exemplars), p.flags,
        )

    def summary_point(self, p: Any) -> SummaryPoint:
        return SummaryPoint(
            self.attributes(p.attributes), p.time_unix_nano, p.count, p.sum,
            [(q.quantile, q.value) for q in p.quantile_values], p.start_time_unix_nano, p.flags,
        )


# --- model to OTLP -----------------------------------------------------------


def _is_int(value: float | int) -> bool:
    # bool is an int subclass but not an OTLP integer: it goes out as a double.
    return isinstance(value, int) and not isinstance(value, bool)


class _Encoder:
    """One batch's encoding into the raw-attribute request, sharing one attribute memo.

    Each message is built by one ``add(**fields)`` call; ``None`` leaves an
    optional field unset.
    """

    __slots__ = ("attributes", "attributes_field")

    def __init__(self) -> None:
        memo = AttributeMemo()
        self.attributes, self.attributes_field = memo.encode, memo.encode_field

    def request(self, out: Any, resource_metrics: list[ResourceMetrics]) -> None:
        attributes = self.attributes
        for rm in resource_metrics:
            r = rm.resource
            prm = out.resource_metrics.add(schema_url=rm.schema_url)
            prm.resource.attributes.extend(attributes(r.attributes))
            prm.resource.dropped_attributes_count = r.dropped_attributes_count
            for sm in rm.scope_metrics:
                s = sm.scope
                psm = prm.scope_metrics.add(schema_url=sm.schema_url)
                psm.scope.name, psm.scope.version = s.name, s.version
                psm.scope.attributes.extend(attributes(s.attributes))
                psm.scope.dropped_attributes_count = s.dropped_attributes_count
                add = psm.metrics.add
                for metric in sm.metrics:
                    self.metric(add(name=metric.name, description=metric.description, unit=metric.unit,
                                    metadata=attributes(metric.metadata)), metric)

    def metric(self, out: Any, metric: Metric) -> None:
        kind, points = metric.type, metric.points
        if kind is MetricType.GAUGE:
            out.gauge.SetInParent()
            self.number_points(out.gauge.data_points, points)
        elif kind is MetricType.SUM:
            out.sum.SetInParent()
            out.sum.aggregation_temporality = metric.temporality.value
            out.sum.is_monotonic = metric.monotonic
            self.number_points(out.sum.data_points, points)
        elif kind is MetricType.HISTOGRAM:
            out.histogram.SetInParent()
            out.histogram.aggregation_temporality = metric.temporality.value
            self.histogram_points(out.histogram.data_points, points)
        elif kind is MetricType.EXPONENTIAL_HISTOGRAM:
            out.exponential_histogram.SetInParent()
            out.exponential_histogram.aggregation_temporality = metric.temporality.value
            self.exponential_points(out.exponential_histogram.data_points, points)
        else:
            out.summary.SetInParent()
            self.summary_points(out.summary.data_points, points)

    def exemplars(self, field: Any, exemplars: list[Exemplar]) -> None:
        attributes, add = self.attributes, field.add
        for e in exemplars:
            out = add(filtered_attributes=attributes(e.filtered_attributes), time_unix_nano=e.time_ns,
                      trace_id=e.trace_id, span_id=e.span_id)
            if _is_int(e.value):
                out.as_int = e.value
            else:
                out.as_double = e.value

    def number_points(self, field: Any, points: Any) -> None:
        field.extend(map(self.number_point, points))

    def number_point(self, p: NumberPoint) -> bytes:
        """A serialized ``NumberDataPoint``; the common shape by hand, in field order as protobuf writes it."""
        value, start, time, flags = p.value, p.start_time_ns, p.time_ns, p.flags
        kind = type(value)
        # bools take the general way, where protobuf refuses them as integers
        if ((kind is float or kind is int) and start and time and not flags and not p.exemplars
                and start is not True and time is not True and flags is not False):
            layout, tag = (_TIMES_DOUBLE, 0x21) if kind is float else (_TIMES_INT, 0x31)
            try:
                return (layout.pack(0x11, start, 0x19, time, tag, value)
                        + self.attributes_field(p.attributes, 7))
            except struct.error:
                pass  # out of range: the message below raises protobuf's own error
        fields = {"as_int" if _is_int(value) else "as_double": value}
        out = _twin(_NUMBER_POINT[1:])(attributes=self.attributes(p.attributes), time_unix_nano=p.time_ns,
                                        start_time_unix_nano=p.start_time_ns, flags=p.flags, **fields)
        self.exemplars(out.exemplars, p.exemplars)
        return out.SerializeToString()

    def histogram_points(self, field: Any, points: Any) -> None:
        attributes, add = self.attributes, field.add
        for p in points:
            out = add(attributes=attributes(p.attributes), time_unix_nano=p.time_ns,
                      start_time_unix_nano=p.start_time_ns, flags=p.flags, count=p.count, sum=p.sum,
                      min=p.min, max=p.max, explicit_bounds=p.bounds, bucket_counts=p.bucket_counts)
            if p.exemplars:
                self.exemplars(out.exemplars, p.exemplars)

    def exponential_points(self, field: Any, points: Any) -> None:
        attributes, add = self.attributes, field.add
        for p in points:
            out = add(attributes=attributes(p.attributes), time_unix_nano=p.time_ns,
                      start_time_unix_nano=p.start_time_ns, flags=p.flags, count=p.count, sum=p.sum,
                      min=p.min, max=p.max, scale=p.scale, zero_count=p.zero_count,
                      zero_threshold=p.zero_threshold)
            for side, buckets in ((out.positive, p.positive), (out.negative, p.negative)):
                side.offset = buckets.offset
                side.bucket_counts.extend(buckets.counts)
            if p.exemplars:
                self.exemplars(out.exemplars, p.exemplars)

    def summary_points(self, field: Any, points: Any) -> None:
        attributes, add = self.attributes, field.add
        for p in points:
            out = add(attributes=attributes(p.attributes), time_unix_nano=p.time_ns,
                      start_time_unix_nano=p.start_time_ns, flags=p.flags, count=p.count, sum=p.sum)
            quantile = out.quantile_values.add
            for q, value in p.quantiles:
                quantile(quantile=q, value=value)
