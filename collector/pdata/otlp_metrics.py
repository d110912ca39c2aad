"""OTLP protobuf <-> the internal metric model, field for field.

The OTLP receiver hands on ``Metrics(otlp_bytes=...)``; a component that
looks inside decodes it here (``Metrics.resource_metrics``), and the OTLP
exporters encode it back here unless the original bytes are still valid.
Every metric type, int/double values, exemplars, flags, attributes of every
``AnyValue`` type, schema urls, scope attributes and metric metadata survive
a round trip.

Two corners the internal model cannot tell apart: a number point or exemplar
without a value (OTLP leaves the ``value`` oneof unset, usually together with
``FLAG_NO_RECORDED_VALUE``) decodes as ``0.0``, and ``Resource.entity_refs``
is not carried.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

from collector.pdata.anyvalue import attributes_from_proto, to_anyvalue
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


def decode_request(data: bytes) -> list[ResourceMetrics]:
    """Serialized ``ExportMetricsServiceRequest`` to the internal model.

    Raises ``google.protobuf.message.DecodeError`` on malformed bytes.
    """
    return from_proto(ExportMetricsServiceRequest.FromString(data))


def encode(batch: Metrics) -> bytes:
    """The batch as a serialized ``ExportMetricsServiceRequest``, reusing received bytes."""
    if batch.otlp_bytes is not None:
        return batch.otlp_bytes
    return to_proto(batch).SerializeToString()


# --- OTLP to model -----------------------------------------------------------


def from_proto(request: ExportMetricsServiceRequest) -> list[ResourceMetrics]:
    """Build model objects from a request; the request is only read."""
    out = []
    for rm in request.resource_metrics:
        scopes = []
        for sm in rm.scope_metrics:
            s = sm.scope
            scope = Scope(s.name, s.version, attributes_from_proto(s.attributes), s.dropped_attributes_count)
            scopes.append(ScopeMetrics(scope, [_metric(m) for m in sm.metrics], sm.schema_url))
        resource = Resource(attributes_from_proto(rm.resource.attributes), rm.resource.dropped_attributes_count)
        out.append(ResourceMetrics(resource, scopes, rm.schema_url))
    return out


def _metric(m: pb.Metric) -> Metric:
    kind = m.WhichOneof("data")
    out = Metric(m.name, MetricType.GAUGE, [], m.description, m.unit, metadata=attributes_from_proto(m.metadata))
    if kind == "gauge":
        out.points = [_number_point(p) for p in m.gauge.data_points]
    elif kind == "sum":
        out.type = MetricType.SUM
        out.points = [_number_point(p) for p in m.sum.data_points]
        out.temporality = _temporality(m.sum.aggregation_temporality)
        out.monotonic = m.sum.is_monotonic
    elif kind == "histogram":
        out.type = MetricType.HISTOGRAM
        out.points = [_histogram_point(p) for p in m.histogram.data_points]
        out.temporality = _temporality(m.histogram.aggregation_temporality)
    elif kind == "exponential_histogram":
        out.type = MetricType.EXPONENTIAL_HISTOGRAM
        out.points = [_exponential_point(p) for p in m.exponential_histogram.data_points]
        out.temporality = _temporality(m.exponential_histogram.aggregation_temporality)
    elif kind == "summary":
        out.type = MetricType.SUMMARY
        out.points = [_summary_point(p) for p in m.summary.data_points]
    # A metric with no data oneof set stays an empty gauge: nothing to lose.
    return out


def _temporality(value: int) -> Temporality:
    # proto3 enums are open: an unknown number reads as "unspecified".
    return _TEMPORALITIES.get(value, Temporality.UNSPECIFIED)


def _value(p: pb.NumberDataPoint | pb.Exemplar) -> float | int:
    return p.as_int if p.WhichOneof("value") == "as_int" else p.as_double


def _exemplars(exemplars: Any) -> list[Exemplar]:
    return [
        Exemplar(e.time_unix_nano, _value(e), attributes_from_proto(e.filtered_attributes), e.trace_id, e.span_id)
        for e in exemplars
    ]


def _optional(p: Any, name: str) -> float | None:
    return getattr(p, name) if p.HasField(name) else None


def _number_point(p: pb.NumberDataPoint) -> NumberPoint:
    return NumberPoint(
        attributes_from_proto(p.attributes), p.time_unix_nano, _value(p), p.start_time_unix_nano,
        _exemplars(p.exemplars), p.flags,
    )


def _histogram_point(p: pb.HistogramDataPoint) -> HistogramPoint:
    return HistogramPoint(
        attributes_from_proto(p.attributes), p.time_unix_nano, p.count, _optional(p, "sum"),
        tuple(p.explicit_bounds), list(p.bucket_counts), p.start_time_unix_nano,
        _optional(p, "min"), _optional(p, "max"), _exemplars(p.exemplars), p.flags,
    )


def _exponential_point(p: pb.ExponentialHistogramDataPoint) -> ExponentialHistogramPoint:
    return ExponentialHistogramPoint(
        attributes_from_proto(p.attributes), p.time_unix_nano, p.count, _optional(p, "sum"), p.scale,
        p.zero_count, Buckets(p.positive.offset, list(p.positive.bucket_counts)),
        Buckets(p.negative.offset, list(p.negative.bucket_counts)), p.start_time_unix_nano,
        _optional(p, "min"), _optional(p, "max"), p.zero_threshold, _exemplars(p.exemplars), p.flags,
    )


def _summary_point(p: pb.SummaryDataPoint) -> SummaryPoint:
    return SummaryPoint(
        attributes_from_proto(p.attributes), p.time_unix_nano, p.count, p.sum,
        [(q.quantile, q.value) for q in p.quantile_values], p.start_time_unix_nano, p.flags,
    )


# --- model to OTLP -----------------------------------------------------------


def to_proto(batch: Metrics) -> ExportMetricsServiceRequest:
    """A new request holding the batch; decodes ``otlp_bytes`` if that is all there is."""
    request = ExportMetricsServiceRequest()
    for rm in batch.resource_metrics:
        prm = request.resource_metrics.add()
        prm.schema_url = rm.schema_url
        _put_attributes(prm.resource.attributes, rm.resource.attributes)
        prm.resource.dropped_attributes_count = rm.resource.dropped_attributes_count
        for sm in rm.scope_metrics:
            psm = prm.scope_metrics.add()
            psm.schema_url = sm.schema_url
            scope = psm.scope
            scope.name, scope.version = sm.scope.name, sm.scope.version
            _put_attributes(scope.attributes, sm.scope.attributes)
            scope.dropped_attributes_count = sm.scope.dropped_attributes_count
            for metric in sm.metrics:
                _put_metric(psm.metrics.add(), metric)
    return request


def _put_attributes(field: Any, attributes: Any) -> None:
    for key, value in attributes.items():
        kv = field.add()
        kv.key = key
        to_anyvalue(value, kv.value)


def _put_metric(out: pb.Metric, metric: Metric) -> None:
    out.name, out.description, out.unit = metric.name, metric.description, metric.unit
    _put_attributes(out.metadata, metric.metadata)
    kind = metric.type
    if kind is MetricType.GAUGE:
        out.gauge.SetInParent()
        for p in metric.points:
            _put_number_point(out.gauge.data_points.add(), p)  # type: ignore[arg-type]
    elif kind is MetricType.SUM:
        out.sum.SetInParent()
        out.sum.aggregation_temporality = metric.temporality.value  # type: ignore[assignment]
        out.sum.is_monotonic = metric.monotonic
        for p in metric.points:
            _put_number_point(out.sum.data_points.add(), p)  # type: ignore[arg-type]
    elif kind is MetricType.HISTOGRAM:
        out.histogram.SetInParent()
        out.histogram.aggregation_temporality = metric.temporality.value  # type: ignore[assignment]
        for p in metric.points:
            _put_histogram_point(out.histogram.data_points.add(), p)  # type: ignore[arg-type]
    elif kind is MetricType.EXPONENTIAL_HISTOGRAM:
        out.exponential_histogram.SetInParent()
        out.exponential_histogram.aggregation_temporality = metric.temporality.value  # type: ignore[assignment]
        for p in metric.points:
            _put_exponential_point(out.exponential_histogram.data_points.add(), p)  # type: ignore[arg-type]
    else:
        out.summary.SetInParent()
        for p in metric.points:
            _put_summary_point(out.summary.data_points.add(), p)  # type: ignore[arg-type]


def _put_value(out: pb.NumberDataPoint | pb.Exemplar, value: float | int) -> None:
    # bool is an int subclass but not an OTLP integer: it goes out as a double.
    if isinstance(value, int) and not isinstance(value, bool):
        out.as_int = value
    else:
        out.as_double = value


def _put_common(out: Any, p: Any) -> None:
    _put_attributes(out.attributes, p.attributes)
    out.time_unix_nano = p.time_ns
    out.start_time_unix_nano = p.start_time_ns
    out.flags = p.flags


def _put_exemplars(field: Any, exemplars: list[Exemplar]) -> None:
    for e in exemplars:
        out = field.add()
        _put_attributes(out.filtered_attributes, e.filtered_attributes)
        out.time_unix_nano = e.time_ns
        _put_value(out, e.value)
        out.trace_id, out.span_id = e.trace_id, e.span_id


def _put_number_point(out: pb.NumberDataPoint, p: NumberPoint) -> None:
    _put_common(out, p)
    _put_value(out, p.value)
    _put_exemplars(out.exemplars, p.exemplars)


def _put_optional(out: Any, p: Any, *names: str) -> None:
    for name in names:
        value = getattr(p, name)
        if value is not None:
            setattr(out, name, value)


def _put_histogram_point(out: pb.HistogramDataPoint, p: HistogramPoint) -> None:
    _put_common(out, p)
    out.count = p.count
    _put_optional(out, p, "sum", "min", "max")
    out.explicit_bounds.extend(p.bounds)
    out.bucket_counts.extend(p.bucket_counts)
    _put_exemplars(out.exemplars, p.exemplars)


def _put_exponential_point(out: pb.ExponentialHistogramDataPoint, p: ExponentialHistogramPoint) -> None:
    _put_common(out, p)
    out.count, out.scale, out.zero_count, out.zero_threshold = p.count, p.scale, p.zero_count, p.zero_threshold
    _put_optional(out, p, "sum", "min", "max")
    for side, buckets in ((out.positive, p.positive), (out.negative, p.negative)):
        side.offset = buckets.offset
        side.bucket_counts.extend(buckets.counts)
    _put_exemplars(out.exemplars, p.exemplars)


def _put_summary_point(out: pb.SummaryDataPoint, p: SummaryPoint) -> None:
    _put_common(out, p)
    out.count, out.sum = p.count, p.sum
    for quantile, value in p.quantiles:
        q = out.quantile_values.add()
        q.quantile, q.value = quantile, value
