"""The internal metric model that every metrics component reads and writes.

One model, translated by written rules at the edges: OTLP (``receivers/otlp``,
``exporters/otlp``), Prometheus (``exporters/prometheus``), CloudWatch EMF
(``exporters/awsemf``). It mirrors the OTLP data model closely enough that an
OTLP round trip is lossless, but uses plain slotted classes because building
and reading them from Python is several times cheaper than protobuf messages.

Ownership: a ``Metrics`` batch handed to ``consume`` is read-only for the
receiver of the call; fan-out shares one instance between exporters. Attribute
maps may be shared between points and between batches (a connector hands out
a series' map at every flush): a component that changes data declares
``mutates_data`` and gets a deep copy, and nothing edits a map in place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Union

from collector.component import Signal

#: Attribute values follow OTLP's AnyValue: str, bool, int, float, bytes,
#: lists of values and string-keyed maps of values.
Attributes = Mapping[str, Any]


class MetricType(enum.Enum):
    GAUGE = "gauge"
    SUM = "sum"
    HISTOGRAM = "histogram"
    EXPONENTIAL_HISTOGRAM = "exponential_histogram"
    SUMMARY = "summary"


class Temporality(enum.Enum):
    UNSPECIFIED = 0
    DELTA = 1
    CUMULATIVE = 2


#: OTLP DataPointFlags: bit 0 marks a point that carries no recorded value.
FLAG_NO_RECORDED_VALUE = 1


@dataclass(slots=True)
class Exemplar:
    time_ns: int
    value: float | int
    filtered_attributes: Attributes = field(default_factory=dict)
    trace_id: bytes = b""
    span_id: bytes = b""


@dataclass(slots=True)
class NumberPoint:
    """A gauge or sum point. ``value`` keeps OTLP's int/double distinction."""

    attributes: Attributes
    time_ns: int
    value: float | int
    start_time_ns: int = 0
    exemplars: list[Exemplar] = field(default_factory=list)
    flags: int = 0


@dataclass(slots=True)
class HistogramPoint:
    """Explicit-bucket histogram: ``len(bucket_counts) == len(bounds) + 1``."""

    attributes: Attributes
    time_ns: int
    count: int
    sum: float | None
    bounds: tuple[float, ...]
    bucket_counts: list[int]
    start_time_ns: int = 0
    min: float | None = None
    max: float | None = None
    exemplars: list[Exemplar] = field(default_factory=list)
    flags: int = 0


@dataclass(slots=True)
class Buckets:
    offset: int = 0
    counts: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ExponentialHistogramPoint:
    attributes: Attributes
    time_ns: int
    count: int
    sum: float | None
    scale: int
    zero_count: int
    positive: Buckets
    negative: Buckets
    start_time_ns: int = 0
    min: float | None = None
    max: float | None = None
    zero_threshold: float = 0.0
    exemplars: list[Exemplar] = field(default_factory=list)
    flags: int = 0


@dataclass(slots=True)
class SummaryPoint:
    attributes: Attributes
    time_ns: int
    count: int
    sum: float
    quantiles: list[tuple[float, float]]  # (quantile in [0, 1], value)
    start_time_ns: int = 0
    flags: int = 0


Point = Union[NumberPoint, HistogramPoint, ExponentialHistogramPoint, SummaryPoint]


@dataclass(slots=True)
class Metric:
    """One named metric and its points.

    ``temporality`` and ``monotonic`` apply to sums and histograms; gauges and
    summaries leave them at their defaults.
    """

    name: str
    type: MetricType
    points: list[Point]
    description: str = ""
    unit: str = ""
    temporality: Temporality = Temporality.UNSPECIFIED
    monotonic: bool = False
    metadata: Attributes = field(default_factory=dict)


@dataclass(slots=True)
class Scope:
    name: str = ""
    version: str = ""
    attributes: Attributes = field(default_factory=dict)
    dropped_attributes_count: int = 0


@dataclass(slots=True)
class Resource:
    attributes: Attributes = field(default_factory=dict)
    dropped_attributes_count: int = 0


@dataclass(slots=True)
class ScopeMetrics:
    scope: Scope
    metrics: list[Metric]
    schema_url: str = ""


@dataclass(slots=True)
class ResourceMetrics:
    resource: Resource
    scope_metrics: list[ScopeMetrics]
    schema_url: str = ""


class Metrics:
    """A batch of metrics, grouped by resource and scope as in OTLP.

    A batch that arrived as OTLP bytes and that no component needed to look
    into can stay serialized: ``otlp_bytes`` holds the original
    ``ExportMetricsServiceRequest`` and ``resource_metrics`` is decoded from it
    on first access. Whoever changes ``resource_metrics`` must call
    :meth:`invalidate_serialized` first.
    """

    signal = Signal.METRICS
    __slots__ = ("_resource_metrics", "otlp_bytes", "_count")

    def __init__(
        self,
        resource_metrics: list[ResourceMetrics] | None = None,
        *,
        otlp_bytes: bytes | None = None,
        count: int | None = None,
    ) -> None:
        if resource_metrics is None and otlp_bytes is None:
            resource_metrics = []
        self._resource_metrics = resource_metrics
        self.otlp_bytes = otlp_bytes
        self._count = count

    @property
    def resource_metrics(self) -> list[ResourceMetrics]:
        if self._resource_metrics is None:
            from collector.pdata.otlp_metrics import decode_request

            assert self.otlp_bytes is not None
            self._resource_metrics = decode_request(self.otlp_bytes)
        return self._resource_metrics

    def invalidate_serialized(self) -> None:
        _ = self.resource_metrics
        self.otlp_bytes = None
        self._count = None

    def iter_metrics(self) -> Iterator[tuple[ResourceMetrics, ScopeMetrics, Metric]]:
        for rm in self.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    yield rm, sm, m

    def item_count(self) -> int:
        """Data points in the batch: the unit of the ``*_metric_points`` counters."""
        if self._count is None:
            self._count = sum(len(m.points) for _, _, m in self.iter_metrics())
        return self._count

    def __repr__(self) -> str:
        return f"Metrics(points={self.item_count()})"
