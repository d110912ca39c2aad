"""``parser: emf``: CloudWatch embedded-metric-format events become metrics, as CloudWatch would extract them.

Each line is parsed once with orjson; the operator's ``metrics:`` rules apply
to it as JSON (a rule can count EMF events by any field), then
:mod:`collector.emf` checks it against the specification and every
directive's metrics are recorded. Pure Python by design: EMF lines are few
(one per request or per flush of an application's metrics), each carries
its own metric definitions, and the compiled scanner's win is skipping
fields no rule names, which EMF does not allow.

The model, and why:

* A valid event's every ``_aws.CloudWatchMetrics`` directive, every
  dimension set and every metric definition gives one series: the metric
  named ``Name`` with the point attribute ``aws.emf.namespace`` (the
  directive's ``Namespace``) and the set's dimensions as attributes. The
  namespace is a point attribute, not a resource or scope, because it is
  part of a CloudWatch metric's identity just as dimensions are: the same
  name in two namespaces stays two series in Prometheus, and ``awsemf`` can
  route each point back to its namespace (and drop the attribute from its
  dimensions). An empty dimension set is the series with the namespace only.
* Each value is a sample (a value array is that many samples), and
  CloudWatch's statistics over samples are SampleCount, Sum, Minimum and
  Maximum: so each metric is a histogram without bucket bounds, which holds
  exactly count, sum, min and max. Prometheus shows ``<name>_count``,
  ``<name>_sum`` and one ``_bucket{le="+Inf"}``; average is
  ``rate(_sum) / rate(_count)``. Percentiles, which CloudWatch would compute
  from the raw samples, are not kept.
* Units map to UCUM by :data:`collector.emf.UCUM_BY_UNIT`; ``StorageResolution``
  is kept in the metric's metadata as ``aws.emf.storage_resolution`` (1 or
  60). One metric name seen with two units or resolutions gives two metrics.
* Points are timed by ``_aws.Timestamp``, not by the operator's ``timestamp``.
* An event that breaks any rule yields no EMF metric at all, as a JSON
  schema check of the whole document would decide (CloudWatch counts such
  events in ``EMFValidationErrors`` and extracts nothing it cannot trust);
  it is counted as a bad record with reason ``emf_<reason>`` of its first
  problem. The operator's rules still see it, and the line goes on to the
  connector's dead-letter output, when it has one. A JSON object
  without ``_aws`` is not an EMF event: only the operator's rules apply.
* Each EMF metric keeps at most ``emf_cardinality_limit`` series, folding
  new ones into the overflow series like the operator's rules.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

from collector import emf
from collector.connectors.logs_to_metrics.aggregate import Aggregator
from collector.connectors.logs_to_metrics.config import Config, MetricRule
from collector.connectors.logs_to_metrics.plan import FIRST_NS, HISTOGRAM, Plan, RulePlan
from collector.connectors.logs_to_metrics.scan_py import Scanner, update
from collector.pdata import metrics as m

NAMESPACE_ATTRIBUTE = emf.NAMESPACE_ATTRIBUTE
STORAGE_RESOLUTION_METADATA = emf.STORAGE_RESOLUTION_METADATA
SCOPE = "fathom/logs_to_metrics/emf"
#: Bad-record reasons are the spec's reasons under this prefix: ``emf_missing_value``.
REASON_PREFIX = "emf_"

#: (name, CloudWatch unit, storage resolution): what makes one output metric.
MetricKey = tuple[str, str, int]


class EmfMetrics:
    """One flush interval of EMF samples per metric, aggregated like the operator's rules.

    The metrics are not known before the data names them, so each gets a
    rule plan on first sight, appended to a plan the shared
    :class:`Aggregator` reads. Its attribute names grow as dimension sets
    appear; a series key lists values in that order, trailing absences cut,
    so a key stays the same when later sets add names.
    """

    def __init__(self, config: Config, on_overflow: Callable[[str, int], None] = lambda name, n: None) -> None:
        self.limit = config.emf_cardinality_limit
        self.plan = Plan(config.model_copy(update={"metrics": [], "timestamp": None}))
        self._index: dict[MetricKey, int] = {}
        self._positions: list[dict[str, int]] = []
        self.interval: list[dict[tuple, list]] = []
        self.aggregator = Aggregator(self.plan, on_overflow, m.Scope(SCOPE))

    def record(self, event: emf.Event) -> None:
        """Add every sample of a valid event."""
        ts = event.timestamp_ms * 1_000_000
        root = event.root
        for directive in event.directives:
            for definition in directive.metrics:
                index = self._rule((definition.name, definition.unit, definition.storage_resolution))
                samples = event.values(definition.name)
                for dimension_set in directive.dimension_sets:
                    key = self._key(index, directive.namespace, {k: root[k] for k in dimension_set})
                    self._add(index, key, samples, ts)

    def flush(self, now_ns: int) -> m.Metrics:
        """The interval's metrics (cumulative or delta as configured); starts a new interval."""
        return self.aggregator.flush(self._drain(), now_ns)

    def absorb(self, now_ns: int) -> None:
        """Merge the interval into the series state without emitting it (before a hand-over)."""
        self.aggregator.absorb(self._drain(), now_ns)

    def adopt(self, old: "EmfMetrics") -> dict[str, int]:
        """Take over a predecessor's metrics and series (it absorbed its interval); dropped series by metric.

        Every EMF metric is defined by the data, not by the config, so all
        carry over unless the temporality changed.
        """
        if old.aggregator.cumulative != self.aggregator.cumulative:
            return {rule.rule.name: len(state) for rule, state in zip(old.plan.rules, old.aggregator.state) if state}
        self._index, self._positions = old._index, old._positions
        self.plan.rules[:] = [dataclasses.replace(rule, rule=rule.rule.model_copy(update={"cardinality_limit": self.limit}))
                              for rule in old.plan.rules]
        self.aggregator.take_series(old.aggregator)
        self.interval = [{} for _ in self.plan.rules]
        return {}

    def _drain(self) -> list[dict[tuple, list]]:
        interval, self.interval = self.interval, [{} for _ in self.plan.rules]
        return interval

    def _rule(self, key: MetricKey) -> int:
        index = self._index.get(key)
        if index is None:
            name, unit, resolution = key
            # Built unvalidated: EMF names need not fit the operator's naming rule, and the event checked them.
            rule = MetricRule.model_construct(
                name=name, type="histogram", value=None, unit=emf.UCUM_BY_UNIT[unit], description="",
                buckets=None, dimensions=[], where=None, cardinality_limit=self.limit)
            index = self._index[key] = self.aggregator.add_rule(
                RulePlan(rule, HISTOGRAM, None, (), 0, (), (), (), (NAMESPACE_ATTRIBUTE,), ()),
                {STORAGE_RESOLUTION_METADATA: resolution})
            self._positions.append({NAMESPACE_ATTRIBUTE: 0})
            self.interval.append({})
        return index

    def _key(self, index: int, namespace: str, dimensions: dict[str, str]) -> tuple:
        positions = self._positions[index]
        for name in dimensions:
            if name not in positions:
                positions[name] = len(positions)
                rule = self.plan.rules[index]
                self.plan.rules[index] = dataclasses.replace(rule, dim_names=rule.dim_names + (name,))
        values: list[str | None] = [None] * len(positions)
        # A root member named like the namespace attribute cannot replace it.
        values[0] = namespace
        for name, value in dimensions.items():
            if name != NAMESPACE_ATTRIBUTE:
                values[positions[name]] = value
        while values[-1] is None:
            values.pop()
        return tuple(values)

    def _add(self, index: int, key: tuple, samples: Sequence[float], ts: int) -> None:
        series = self.interval[index]
        acc = series.get(key)
        if acc is None:
            acc = series[key] = self.plan.new_acc(self.plan.rules[index])
            acc[FIRST_NS] = ts
        for value in samples:
            update(acc, HISTOGRAM, (), value, ts)


class EmfScanner(Scanner):
    """The JSON scanner, plus EMF extraction from every record it parses."""

    def __init__(self, plan: Plan, sink: EmfMetrics, *, bad_records: bool = False) -> None:
        super().__init__(plan, bad_records=bad_records)
        self.sink = sink

    def apply(self, record: dict, consts: Sequence[Any], now_ns: int) -> None:
        super().apply(record, consts, now_ns)
        if "_aws" not in record:
            return
        event, problems = emf.read_event(record)
        if event is None:
            self.count(REASON_PREFIX + problems[0].reason)
        else:
            self.sink.record(event)
