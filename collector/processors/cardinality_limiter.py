"""The ``cardinality_limiter`` processor: a series limit per metric, with an overflow series.

For any metrics pipeline, OTLP included. Each metric keeps at most ``limit``
series (a series: resource, scope and point attributes); points of further
new series fold into one series per resource and scope whose only attribute
is ``otel.metric.overflow="true"``, the OpenTelemetry SDK's cardinality-limit
convention. ``label_limits`` caps the distinct values of a label within a
metric: further values are replaced with ``label_overflow_value``, so a
runaway label folds without losing the others. A series (or label value)
not seen for ``idle_timeout`` frees its slot.

What a folded point becomes, by type:

* gauge: the latest folded value (by time) in each batch;
* delta sum and delta histogram: the sum of the batch's folded points;
* cumulative sum and cumulative histogram: a cumulative total since the
  folded series was created, whose increments are each source series'
  increments (the source's previous point is kept, up to
  ``max_tracked_sources``, to compute them; a source's first folded point,
  or one after a reset, contributes its whole value). The total never goes
  down when sources come and go;
* exponential histograms and summaries cannot be merged here and are dropped.

Self-telemetry names what hit the limit: ``fathom_cardinality_overflow_points``
{metric} and ``fathom_cardinality_label_overflow_points`` {metric, label}
count folded points; ``fathom_cardinality_dropped_points`` {metric} those dropped.

```yaml
processors:
  cardinality_limiter:
    limit: 2000
    metrics: {http.server.duration: 5000}
    label_limits: {user_id: 100, path: 500}
    idle_timeout: 10m
```
"""

from __future__ import annotations

from typing import Any, Hashable, Mapping

from pydantic import Field

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.configtypes import Duration, PositiveInt
from collector.pdata import Metrics
from collector.pdata import metrics as m
from collector.processors.streams import StreamTable, add, freeze, is_reset, subtract

OVERFLOW_ATTRIBUTES: Mapping[str, Any] = {"otel.metric.overflow": "true"}
_OVERFLOW_KEY = freeze(OVERFLOW_ATTRIBUTES)


class CardinalityLimiterConfig(ComponentConfig):
    limit: PositiveInt = Field(2000, description="Series kept per metric name (the OTel SDK's default limit).")
    metrics: dict[str, PositiveInt] = Field(default_factory=dict, description="Per-metric limits overriding `limit`.")
    label_limits: dict[str, PositiveInt] = Field(
        default_factory=dict, description="Distinct values kept per label within each metric."
    )
    label_overflow_value: str = Field("otel.overflow", description="Value that replaces a label's values past its limit.")
    idle_timeout: Duration = Field(300.0, description="A series or label value unseen this long frees its slot; 0: never.")
    max_tracked_sources: PositiveInt = Field(
        100_000, description="Cumulative source series remembered to fold increments; the stalest is forgotten first."
    )


class CardinalityLimiter:
    mutates_data = True

    def __init__(self, settings: Settings, config: CardinalityLimiterConfig, next: Consumer) -> None:
        self._telemetry = settings.telemetry
        self._config = config
        self._next = next
        self._series: dict[str, StreamTable[None]] = {}
        self._values: dict[tuple[str, str], StreamTable[None]] = {}
        # cumulative folding: a source's last point, and each folded series' running total
        self._sources: StreamTable[m.Point] = StreamTable(config.max_tracked_sources, config.idle_timeout)
        self._totals: StreamTable[m.Point] = StreamTable(config.max_tracked_sources, config.idle_timeout)

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def consume(self, batch: Metrics) -> None:
        for table in (*self._series.values(), *self._values.values(), self._sources, self._totals):
            table.expire()
        for rm in batch.resource_metrics:
            resource = freeze(rm.resource.attributes)
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    self._limit(batch, metric, (resource, sm.scope.name, sm.scope.version))
        await self._next.consume(batch)

    def _limit(self, batch: Metrics, metric: m.Metric, scope_key: tuple) -> None:
        name = metric.name
        series = self._series.get(name)
        if series is None:
            limit = self._config.metrics.get(name, self._config.limit)
            series = self._series[name] = StreamTable(limit, self._config.idle_timeout)
        kept: list[m.Point] = []
        folded: dict[Hashable, m.Point] = {}
        overflowed = dropped = 0
        for point in metric.points:
            attrs = self._limit_labels(name, point.attributes)
            key = (scope_key, freeze(attrs))
            if key in series:
                series.touch(key)
            elif len(series) < series.max_streams:
                series.put(key, None)
            else:
                attrs, key = OVERFLOW_ATTRIBUTES, (scope_key, _OVERFLOW_KEY)
                overflowed += 1
            if attrs is point.attributes:
                kept.append(point)
            elif isinstance(point, (m.NumberPoint, m.HistogramPoint)):
                source = (scope_key, freeze(point.attributes))
                folded[key] = self._fold(metric, folded.get(key), point, source, key, attrs)
            else:
                dropped += 1
        if folded or dropped:  # a batch within its limits keeps its OTLP bytes
            batch.invalidate_serialized()
            metric.points = kept + list(folded.values())
        self._telemetry.add("fathom_cardinality_overflow_points", overflowed, {"metric": name},
                            description="Points folded into the overflow series because their metric hit its limit")
        self._telemetry.add("fathom_cardinality_dropped_points", dropped, {"metric": name},
                            description="Points past the limit of a type that cannot be folded")

    def _limit_labels(self, name: str, attrs: Mapping[str, Any]) -> Mapping[str, Any]:
        """The attributes with each over-limit label's new value replaced; the same object if none was."""
        out = attrs
        for label, limit in self._config.label_limits.items():
            if label not in attrs:
                continue
            values = self._values.get((name, label))
            if values is None:
                values = self._values[(name, label)] = StreamTable(limit, self._config.idle_timeout)
            value = attrs[label]
            value_key = value if isinstance(value, Hashable) else repr(value)
            if value_key in values:
                values.touch(value_key)
            elif len(values) < limit:
                values.put(value_key, None)
            else:
                out = dict(out) if out is attrs else out
                out[label] = self._config.label_overflow_value  # type: ignore[index]
                self._telemetry.add("fathom_cardinality_label_overflow_points", 1, {"metric": name, "label": label},
                                    description="Points whose label value was replaced because the label hit its limit")
        return out

    def _fold(self, metric: m.Metric, acc: m.Point | None, point: m.Point, source: Hashable, target: Hashable,
              attrs: Mapping[str, Any]) -> m.Point:
        """The folded series' point after adding ``point`` (see the module docstring for the rules)."""
        if metric.type is m.MetricType.GAUGE:
            assert isinstance(point, m.NumberPoint)
            if acc is not None and acc.time_ns > point.time_ns:
                return acc
            return m.NumberPoint(attrs, point.time_ns, point.value, point.start_time_ns, point.exemplars, point.flags)
        if metric.temporality is not m.Temporality.CUMULATIVE:
            return add(acc, point, attrs)
        source_key, target_key = (metric.name, source), (metric.name, target)
        prev = self._sources.get(source_key)
        self._sources.put(source_key, point)
        increment = point if prev is None or is_reset(prev, point, metric.monotonic) else subtract(point, prev)
        total = add(self._totals.get(target_key), increment, attrs)
        self._totals.put(target_key, total)
        return total


def create(settings: Settings, config: CardinalityLimiterConfig, next: Consumer) -> CardinalityLimiter:
    return CardinalityLimiter(settings, config, next)


factory = Factory(
    type="cardinality_limiter",
    kind=Kind.PROCESSOR,
    config=CardinalityLimiterConfig,
    create=create,
    signals={Signal.METRICS: Stability.ALPHA},
    description="Caps the series per metric, folding the rest into an otel.metric.overflow series.",
)
