"""The ``top_contributors`` connector: Contributor Insights inside the collector, for any backend.

It ends a logs or metrics pipeline and feeds a metrics pipeline. Each rule
names up to four key fields (a *contributor* is one combination of their
values), counts records (``aggregate: count``) or sums a value field
(``aggregate: sum``) per contributor over a window, and at the end of each
window emits, under the rule's ``name``:

* ``<name>`` (delta sum): one point per top-``top_k`` contributor, with the
  key fields as attributes, plus one point with ``top_contributors.other="true"``
  holding everything else;
* ``<name>.total`` (delta sum): the exact total over the window;
* ``<name>.unique_contributors`` (gauge): the estimated number of distinct
  contributors (HyperLogLog, relative standard error about 1.04/sqrt(2^hll_lg_k));
* ``<name>.error_bound`` (gauge): the largest amount by which any emitted
  contributor's value may exceed its true value. Each emitted value is an
  upper bound; the true value lies within ``error_bound`` below it, and any
  contributor left out has a true value of at most ``error_bound``.

Memory is bounded whatever the key cardinality: per rule, one frequent-items
sketch of at most ``2^lg_max_map_size`` counters (Apache DataSketches'
Misra-Gries sketch, a Space-Saving equivalent whose error is at most
3.5/2^lg_max_map_size of the total) and one HyperLogLog of ``2^hll_lg_k``
registers. The sketches count integer weights: ``sum`` values are rounded
after multiplying by ``value_multiplier`` (and divided back when emitted);
negative values are skipped.

Fields are read as :mod:`collector.processors.fields` says: a JSON log
line's or map body's fields, ``attributes.x``, ``resource.x``; on metric
points ``name``, ``value``, ``attributes.x`` and the like. A record missing
a key field is not counted.

```yaml
connectors:
  top_contributors:
    window: 60s
    rules:
      - {name: top.users, keys: [user_id]}
      - name: top.route_users.bytes
        keys: [route, user_id]
        value: bytes_sent
        aggregate: sum
        where: 'status >= 500'
        top_k: 20
service:
  pipelines:
    logs: {receivers: [filelog], exporters: [top_contributors]}
    metrics: {receivers: [top_contributors], exporters: [prometheus]}
```
"""

from __future__ import annotations

import time
from typing import Any, Callable, Literal, Mapping

import datasketches
from pydantic import Field, field_validator, model_validator

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.configtypes import Duration, PositiveInt
from collector.expr import MISSING, Expression, parse_path
from collector.pdata import Batch, Logs, Metrics
from collector.pdata import metrics as m
from collector.pdata.anyvalue import attributes_from_proto
from collector.periodic import Periodic
from collector.processors import fields

OTHER_ATTRIBUTES: Mapping[str, Any] = {"top_contributors.other": "true"}
_SEP = "\x1f"  # joins key values into one sketch item; a control character no sane key holds


class Rule(ComponentConfig):
    """One contributor ranking."""

    name: str = Field(description="Name of the emitted metric; the others get `.total`, `.unique_contributors`, `.error_bound`.")
    keys: list[str] = Field(min_length=1, max_length=4, description="One to four field paths that identify a contributor.")
    value: str | None = Field(None, description="Field path of the amount to sum (`aggregate: sum`).")
    aggregate: Literal["count", "sum"] = Field("count", description="Count matching records, or sum `value`.")
    where: str | None = Field(None, description="Condition a record must meet to count (shared condition language).")
    top_k: PositiveInt = Field(10, le=1000, description="Contributors emitted per window.")
    value_multiplier: float = Field(1.0, gt=0, description="`sum` values are multiplied by this and rounded to integers.")
    unit: str = Field("", description="Unit of the emitted values.")

    @field_validator("keys")
    @classmethod
    def _paths(cls, v: list[str]) -> list[str]:
        for key in v:
            parse_path(key)
        return v

    @field_validator("value")
    @classmethod
    def _value(cls, v: str | None) -> str | None:
        if v is not None:
            parse_path(v)
        return v

    @field_validator("where")
    @classmethod
    def _where(cls, v: str | None) -> str | None:
        if v is not None:
            Expression(v)
        return v

    @model_validator(mode="after")
    def _sum_needs_value(self) -> "Rule":
        if self.aggregate == "sum" and self.value is None:
            raise ValueError("`aggregate: sum` needs `value`, the field to sum")
        if self.aggregate == "count" and self.value is not None:
            raise ValueError("`value` is only read with `aggregate: sum`")
        return self


class TopContributorsConfig(ComponentConfig):
    rules: list[Rule] = Field(default_factory=list, description="The rankings to compute.")
    window: Duration = Field(60.0, gt=0, description="How often the rankings are emitted and reset.")
    lg_max_map_size: int = Field(
        10, ge=3, le=20, description="log2 of each rule's counter table: error at most 3.5/2^this of the total."
    )
    hll_lg_k: int = Field(12, ge=4, le=21, description="log2 of each rule's HyperLogLog registers.")


class Ranking:
    """One rule's window: a frequent-items sketch, a distinct-count sketch and the exact total."""

    def __init__(self, rule: Rule, signal: Signal, lg_max_map_size: int, hll_lg_k: int) -> None:
        self.rule = rule
        self.lg_max_map_size = lg_max_map_size
        self.hll_lg_k = hll_lg_k
        self.keys = [fields.getter(parse_path(k), signal) for k in rule.keys]
        self.value = fields.getter(parse_path(rule.value), signal) if rule.value else None
        if rule.where:
            expr = Expression(rule.where)
            fields.check(expr, signal)
            self.where: Callable[[Any], bool] | None = fields.bind(expr, signal)
        else:
            self.where = None
        self.skipped = 0
        self._pending: dict[str, int] = {}
        self._multiplier = rule.value_multiplier
        self._reset()

    def _reset(self) -> None:
        self.items = datasketches.frequent_strings_sketch(self.lg_max_map_size)
        self.distinct = datasketches.hll_sketch(self.hll_lg_k)
        self.total = 0

    def add(self, item: Any) -> None:
        if self.where is not None and not self.where(item):
            return
        parts = []
        for get in self.keys:
            v = get(item)
            if type(v) is not str:
                if v is MISSING or v is None or isinstance(v, (dict, list)):
                    self.skipped += 1
                    return
                v = _text(v)
            parts.append(v)
        weight = 1
        if self.value is not None:
            v = self.value(item)
            if type(v) not in (int, float) or v < 0:
                self.skipped += 1
                return
            weight = round(v * self._multiplier) if self._multiplier != 1.0 or type(v) is float else v
            if not weight:
                return
        key = parts[0] if len(parts) == 1 else _SEP.join(parts)
        self._pending[key] = self._pending.get(key, 0) + weight

    def drain(self) -> None:
        """Move the batch's per-key sums into the sketches: one update per distinct key, not per record.

        The sketches' guarantees hold for weighted updates in any order, and
        skewed data repeats keys within a batch, so this saves most updates;
        memory stays bounded by the batch size.
        """
        update, distinct = self.items.update, self.distinct.update
        for key, weight in self._pending.items():
            update(key, weight)
            distinct(key)
            self.total += weight
        self._pending.clear()

    def flush(self, start_ns: int, now_ns: int) -> list[m.Metric]:
        """The window's metrics; starts a new window."""
        self.drain()
        rule, scale = self.rule, self.rule.value_multiplier
        ranked = self.items.get_frequent_items(datasketches.frequent_items_error_type.NO_FALSE_NEGATIVES)
        ranked.sort(key=lambda r: (-r[1], r[0]))
        top = ranked[: rule.top_k]
        # Every counter carries the same error: an absent item's upper bound is exactly that error.
        bound = self.items.get_upper_bound(_SEP)

        def value(n: int) -> float | int:
            return n if scale == 1.0 else n / scale

        points: list[m.Point] = []
        for key, estimate, _, _ in top:
            attrs = dict(zip(rule.keys, key.split(_SEP) if len(rule.keys) > 1 else [key]))
            points.append(m.NumberPoint(attrs, now_ns, value(estimate), start_ns))
        other = max(self.total - sum(e for _, e, _, _ in top), 0)
        points.append(m.NumberPoint(dict(OTHER_ATTRIBUTES), now_ns, value(other), start_ns))
        distinct, total = round(self.distinct.get_estimate()), self.total
        self._reset()
        return [
            m.Metric(rule.name, m.MetricType.SUM, points, unit=rule.unit, temporality=m.Temporality.DELTA,
                     monotonic=True, description=f"Top {rule.top_k} contributors by {', '.join(rule.keys)}"),
            m.Metric(rule.name + ".total", m.MetricType.SUM, [m.NumberPoint({}, now_ns, value(total), start_ns)],
                     unit=rule.unit, temporality=m.Temporality.DELTA, monotonic=True),
            m.Metric(rule.name + ".unique_contributors", m.MetricType.GAUGE, [m.NumberPoint({}, now_ns, distinct)],
                     unit="{contributor}"),
            m.Metric(rule.name + ".error_bound", m.MetricType.GAUGE, [m.NumberPoint({}, now_ns, value(bound))],
                     unit=rule.unit),
        ]


def _text(v: Any) -> str:
    if v is True or v is False:
        return "true" if v else "false"
    return str(v)


def feed(batch: Batch, rankings: list[Ranking]) -> None:
    """Every record or point of ``batch`` into every ranking."""
    _feed(batch, rankings)
    for r in rankings:
        r.drain()


def _feed(batch: Batch, rankings: list[Ranking]) -> None:
    if isinstance(batch, Metrics):
        for rm, _, metric in batch.iter_metrics():
            for point in metric.points:
                item = fields.PointItem(rm.resource.attributes, metric, point)
                for r in rankings:
                    r.add(item)
        return
    assert isinstance(batch, Logs)
    if batch.chunks is not None:
        for chunk in batch.chunks:
            resource, attributes = dict(chunk.resource), dict(chunk.attributes)
            for line in chunk.lines():
                item = fields.LogItem(resource, line=line, attributes=attributes)
                for r in rankings:
                    r.add(item)
        return
    for rl in batch.request.resource_logs:
        resource = attributes_from_proto(rl.resource.attributes)
        for sl in rl.scope_logs:
            for record in sl.log_records:
                item = fields.LogItem(resource, record)
                for r in rankings:
                    r.add(item)


class TopContributors:
    """Rankings per input signal, emitted every ``window`` and on shutdown."""

    mutates_data = False

    def __init__(self, settings: Settings, config: TopContributorsConfig, next: Mapping[Signal, Consumer]) -> None:
        self._settings = settings
        self._config = config
        self._next = next[Signal.METRICS]
        self._rankings = {
            signal: [Ranking(rule, signal, config.lg_max_map_size, config.hll_lg_k) for rule in config.rules]
            for signal in settings.signals
        }
        self._window_start = time.time_ns()
        self._windows = Periodic(config.window, self.flush, name=f"{settings.id} window", logger=settings.logger)
        self._stopped = False

    async def start(self, host: Host) -> None:
        if not self._stopped:
            self._windows.start()

    async def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self._windows.stop()
        await self.flush()

    async def consume(self, batch: Batch) -> None:
        feed(batch, self._rankings[batch.signal])

    async def flush(self) -> None:
        """Close the window: emit every ranking and start anew."""
        start, now = self._window_start, time.time_ns()
        self._window_start = now
        metrics: list[m.Metric] = []
        for signal, rankings in self._rankings.items():
            for r in rankings:
                if r.total or r.skipped:
                    metrics.extend(r.flush(start, now))
                self._settings.telemetry.add("fathom_top_contributors_skipped", r.skipped, {"rule": r.rule.name},
                                             description="Records missing a key field or with a bad value")
                r.skipped = 0
        if metrics:
            scope = m.Scope("fathom/top_contributors")
            await self._next.consume(Metrics([m.ResourceMetrics(m.Resource({}), [m.ScopeMetrics(scope, metrics)])]))

def create(settings: Settings, config: TopContributorsConfig, next: Mapping[Signal, Consumer]) -> TopContributors:
    return TopContributors(settings, config, next)


factory = Factory(
    type="top_contributors",
    kind=Kind.CONNECTOR,
    config=TopContributorsConfig,
    create=create,
    signals={(Signal.LOGS, Signal.METRICS): Stability.ALPHA, (Signal.METRICS, Signal.METRICS): Stability.ALPHA},
    description="Ranks the top contributors of any key over a window, in bounded memory.",
)
