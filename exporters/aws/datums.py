"""The internal metric model as CloudWatch datums: one translation for both exporters.

A datum is one metric value CloudWatch can take: a number, a distribution
(unique ``values`` with their ``counts``, plus min, max, sum and count), or
a statistic set. Both the EMF exporter and PutMetricData start from these,
so the rules live once:

* gauges and non-monotonic sums are sent as they are; monotonic cumulative
  sums, cumulative histograms and summaries become deltas (:mod:`.delta`);
* a histogram bucket is represented by its midpoint (the outer buckets by the
  recorded min and max, or the nearest bound), clamped to min and max;
  exponential histograms likewise; distributions longer than ``max_values``
  are split into several datums whose counts and sums add up to the whole;
* NaN, infinities and values outside CloudWatch's range, blank or non-ASCII
  dimensions and invalid metric names are dropped, each counted with a reason,
  by the rules of :mod:`collector.emf` (CloudWatch's, whichever route);
* a point that carries its EMF identity (the ``emf`` parser's
  ``aws.emf.namespace`` attribute, ``aws.emf.storage_resolution`` metadata)
  keeps it: the namespace leaves the dimensions for :attr:`Datum.namespace`,
  the resolution goes to :attr:`Datum.storage_resolution`, so EMF in gives
  the same CloudWatch metric out.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable, Literal, Mapping

import orjson

from collector.pdata.metrics import (
    FLAG_NO_RECORDED_VALUE,
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    Metrics,
    MetricType,
    NumberPoint,
    SummaryPoint,
    Temporality,
)
from collector import emf
from exporters.aws.delta import DeltaTracker, Totals
from exporters.aws.units import cloudwatch_unit


@dataclass(slots=True)
class Distribution:
    values: list[float]
    counts: list[float]
    min: float
    max: float
    sum: float
    count: float


@dataclass(slots=True)
class StatisticSet:
    min: float
    max: float
    sum: float
    count: float


@dataclass(slots=True)
class Datum:
    name: str
    unit: str
    #: candidate dimensions: the point's attributes (and the resource's, if asked), as strings
    dimensions: dict[str, str]
    time_ms: int
    value: float | Distribution | StatisticSet
    #: the point's own namespace (an EMF source's); empty: the exporter's configured or resource namespace
    namespace: str = ""
    #: the metric's own StorageResolution (1 or 60); None: the exporter's setting
    storage_resolution: int | None = None


@dataclass(slots=True)
class ResourceDatums:
    resource: Mapping[str, Any]
    datums: list[Datum] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TranslateOptions:
    resource_to_telemetry: bool = False
    histograms: Literal["values_counts", "statistic_set"] = "values_counts"
    detailed_metrics: bool = False
    #: the longest Values/Counts array the destination takes (EMF 100, PutMetricData 150)
    max_values: int = 100


def attribute_text(value: Any) -> str:
    """An attribute value as a dimension string: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.hex()
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return str(value)


class Translator:
    """Metrics batches to datums, keeping the delta state between batches."""

    def __init__(self, options: TranslateOptions, deltas: DeltaTracker) -> None:
        self.options = options
        self.deltas = deltas

    def translate(self, batch: Metrics) -> tuple[list[ResourceDatums], Counter[str]]:
        """Datums per resource, and the count of dropped points by reason."""
        dropped: Counter[str] = Counter()
        out = []
        for rm in batch.resource_metrics:
            resource_dims = {k: attribute_text(v) for k, v in rm.resource.attributes.items()}
            resource_key = tuple(sorted(resource_dims.items()))
            group = ResourceDatums(rm.resource.attributes)
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    problem = emf.metric_name_problem(metric.name)
                    if problem is not None:
                        dropped["invalid_metric_name"] += len(metric.points)
                        continue
                    group.datums.extend(self._metric(metric, resource_key, resource_dims, dropped))
            if group.datums:
                out.append(group)
        return out, dropped

    def _metric(self, metric: Metric, resource_key: tuple, resource_dims: dict[str, str],
                dropped: Counter[str]) -> Iterable[Datum]:
        unit, scale = cloudwatch_unit(metric.unit)
        resolution = metric.metadata.get(emf.STORAGE_RESOLUTION_METADATA)
        if type(resolution) is not int or resolution not in emf.STORAGE_RESOLUTIONS:
            resolution = None
        for point in metric.points:
            if point.flags & FLAG_NO_RECORDED_VALUE:
                dropped["no_recorded_value"] += 1
                continue
            dims = {k: attribute_text(v) for k, v in point.attributes.items()}
            if self.options.resource_to_telemetry:
                dims = {**resource_dims, **dims}
            namespace = point.attributes.get(emf.NAMESPACE_ATTRIBUTE)
            if type(namespace) is str:
                del dims[emf.NAMESPACE_ATTRIBUTE]
            else:
                namespace = ""
            if any(emf.dimension_name_problem(k) or emf.dimension_value_problem(v) for k, v in dims.items()):
                dropped["invalid_dimension"] += 1
                continue
            key = (resource_key, metric.name, metric.type, namespace, tuple(sorted(dims.items())))
            new = partial(Datum, metric.name, unit, time_ms=point.time_ns // 1_000_000, namespace=namespace,
                          storage_resolution=resolution)
            if isinstance(point, NumberPoint):
                value = self._number(metric, point, key, dropped)
                if value is None:
                    continue
                value *= scale
                if not _value_ok(value):
                    dropped["non_finite" if not math.isfinite(value) else "value_out_of_range"] += 1
                    continue
                yield new(dims, value=value)
            else:
                yield from self._distribution(metric, point, key, scale, dims, new, dropped)

    def _number(self, metric: Metric, point: NumberPoint, key: tuple, dropped: Counter[str]) -> float | None:
        value = float(point.value)
        if not math.isfinite(value):
            dropped["non_finite"] += 1
            return None
        if metric.type is MetricType.SUM and metric.monotonic and metric.temporality is Temporality.CUMULATIVE:
            delta, reason = self.deltas.delta(key, point.start_time_ns, point.time_ns, Totals(value=value))
            if delta is None:
                dropped[reason or "no_delta"] += 1
                return None
            return delta.value
        return value

    def _distribution(self, metric: Metric, point: Any, key: tuple, scale: float, dims: dict[str, str],
                      new: Callable[..., Datum], dropped: Counter[str]) -> Iterable[Datum]:
        """``new(dims, value=...)`` makes a datum of this point's name, unit, time and EMF identity."""
        if isinstance(point, SummaryPoint):
            buckets: dict[Any, float] = {}
            layout: Any = None
            cumulative = True  # OTLP summaries are cumulative by definition
            known_min, known_max = _quantile_bounds(point)
        elif isinstance(point, HistogramPoint):
            buckets = {i: float(c) for i, c in enumerate(point.bucket_counts) if c}
            layout = tuple(point.bounds)
            cumulative = metric.temporality is Temporality.CUMULATIVE
            known_min, known_max = point.min, point.max
        elif isinstance(point, ExponentialHistogramPoint):
            buckets = {("+", point.positive.offset + i): float(c) for i, c in enumerate(point.positive.counts) if c}
            buckets.update({("-", point.negative.offset + i): float(c)
                            for i, c in enumerate(point.negative.counts) if c})
            if point.zero_count:
                buckets[("0", 0)] = float(point.zero_count)
            layout = point.scale
            cumulative = metric.temporality is Temporality.CUMULATIVE
            known_min, known_max = point.min, point.max
        else:
            dropped["unsupported_type"] += 1
            return
        total = float(point.sum) if point.sum is not None else math.nan
        totals = Totals(count=float(point.count), sum=total, buckets=buckets)
        if cumulative:
            delta, reason = self.deltas.delta(key, point.start_time_ns, point.time_ns, totals, layout)
            if delta is None:
                dropped[reason or "no_delta"] += 1
                return
            if delta is not totals:  # an interval's min and max are not known from two totals
                known_min = known_max = None
            totals = delta
        if totals.count <= 0:
            dropped["empty_distribution"] += 1
            return
        pairs = _representatives(point, totals.buckets or {}, known_min, known_max)
        if isinstance(point, SummaryPoint) or not pairs:
            pairs = [(totals.sum / totals.count if math.isfinite(totals.sum) else 0.0, totals.count)]
        pairs = [(v * scale, c) for v, c in pairs]
        lo = known_min * scale if known_min is not None else pairs[0][0]
        hi = known_max * scale if known_max is not None else pairs[-1][0]
        total_sum = totals.sum * scale if math.isfinite(totals.sum) else sum(v * c for v, c in pairs)
        if not all(_value_ok(x) for x in (lo, hi, total_sum, totals.count)) or \
                not all(_value_ok(v) for v, _ in pairs):
            dropped["non_finite"] += 1
            return
        if isinstance(point, SummaryPoint) and self.options.detailed_metrics:
            for q, v in point.quantiles:
                if _value_ok(v * scale):
                    yield new({**dims, "quantile": format(q, "g")}, value=v * scale)
                else:
                    dropped["non_finite"] += 1
        if self.options.histograms == "statistic_set" or isinstance(point, SummaryPoint):
            yield new(dims, value=StatisticSet(lo, hi, total_sum, totals.count))
            return
        for part in split_distribution(pairs, lo, hi, total_sum, self.options.max_values):
            yield new(dims, value=part)


def _value_ok(value: float) -> bool:
    return emf.value_problem(value) is None


def _quantile_bounds(point: SummaryPoint) -> tuple[float | None, float | None]:
    """Min and max as the 0 and 1 quantiles, when the summary has them."""
    by_q = dict(point.quantiles)
    return by_q.get(0.0), by_q.get(1.0)


def _representatives(point: Any, buckets: Mapping[Any, float], lo: float | None,
                     hi: float | None) -> list[tuple[float, float]]:
    """(value, count) per non-empty bucket, unique values ascending, clamped to [lo, hi]."""
    merged: dict[float, float] = {}
    for key, count in buckets.items():
        if count <= 0:
            continue
        value = _bucket_value(point, key, lo, hi)
        if lo is not None:
            value = max(value, lo)
        if hi is not None:
            value = min(value, hi)
        merged[value] = merged.get(value, 0.0) + count
    return sorted(merged.items())


def _bucket_value(point: Any, key: Any, lo: float | None, hi: float | None) -> float:
    if isinstance(point, HistogramPoint):
        bounds = point.bounds
        if not bounds:
            return (point.sum / point.count) if point.sum is not None and point.count else (lo or hi or 0.0)
        if key == 0:
            return lo if lo is not None else bounds[0]
        if key >= len(bounds):
            return hi if hi is not None else bounds[-1]
        return (bounds[key - 1] + bounds[key]) / 2
    sign, index = key
    if sign == "0":
        return 0.0
    base = 2.0 ** (2.0 ** -point.scale)
    mid = (base ** index + base ** (index + 1)) / 2
    return mid if sign == "+" else -mid


def split_distribution(pairs: list[tuple[float, float]], lo: float, hi: float, total_sum: float,
                       max_values: int) -> list[Distribution]:
    """One distribution, or several of at most ``max_values`` entries adding up to it.

    Each part's sum is its values times counts; the last part takes the
    remainder so the parts' sums add up to the recorded sum exactly.
    """
    if len(pairs) <= max_values:
        return [Distribution([v for v, _ in pairs], [c for _, c in pairs], lo, hi, total_sum,
                             sum(c for _, c in pairs))]
    parts = []
    chunks = [pairs[i:i + max_values] for i in range(0, len(pairs), max_values)]
    running = 0.0
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        part_sum = total_sum - running if last else sum(v * c for v, c in chunk)
        running += part_sum
        parts.append(Distribution([v for v, _ in chunk], [c for _, c in chunk],
                                  lo if i == 0 else chunk[0][0], hi if last else chunk[-1][0],
                                  part_sum, sum(c for _, c in chunk)))
    return parts
