"""Interval accumulators to metric points: temporality, start times, staleness, cardinality.

Scanners fill one interval of accumulators (see ``plan``); at each flush
the interval is merged here, once per series rather than once per record,
and turned into :class:`collector.pdata.Metrics`. The compiled scanner
instead holds the series state in its own tables (:class:`HeldAggregator`),
so a flush of 100,000 series builds points and merges nothing; the dict
state of :class:`Aggregator` is its executable spec.

Cumulative: a series' state lives from its first record (its start time,
and its first value counts) until it has seen no record for
``max_staleness``. Delta: each flush reports only the interval's series.
Either way, once a metric holds ``cardinality_limit`` series, records of
new series fold, as they arrive, into one series with ``otel.metric.overflow="true"``
(the OpenTelemetry SDK's convention) and existing series keep updating.

A metric is named by its rule (``rule.rule.name``) and carries the metadata
given with the rule; rules the data defines (EMF's) join with
:meth:`Aggregator.add_rule`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Callable, Mapping

from _fastpath import NO_EXTENSIONS
from collector.connectors.logs_to_metrics.plan import (
    BUCKETS, COUNT, COUNTER, FIRST_NS, GAUGE, HISTOGRAM, LAST, LAST_NS, MAX, MIN, OVERFLOW_KEY, TOTAL, Plan,
    RulePlan,
)
from collector.pdata import metrics as m

_SCOPE = m.Scope("fathom/logs_to_metrics")


class _Aggregation:
    """What both state holders share: settings, the batch around the metrics, reload matching, counts."""

    def __init__(self, plan: Plan, on_overflow: Callable[[str, int], None] = lambda name, n: None,
                 scope: m.Scope = _SCOPE) -> None:
        self.plan = plan
        self.cumulative = plan.config.temporality == "cumulative"
        self.max_staleness_ns = int(plan.config.max_staleness * 1e9)
        self.on_overflow = on_overflow
        self.scope = scope
        #: per rule: the metadata of its metric
        self.metadata: list[Mapping[str, Any]] = [{} for _ in plan.rules]
        self._counts: dict[str, int] = {}

    def adopt(self, handed: "AggregatorState") -> dict[str, int]:
        """Seed the state from a predecessor's; the series of rules that changed are dropped, counted by metric.

        A rule keeps its series when its identity (name, type, unit,
        dimensions, buckets) is unchanged and the temporality is the same:
        anything else would give the old values a new meaning.
        """
        mine = {identity(rule): i for i, rule in enumerate(self.plan.rules)}
        dropped: dict[str, int] = {}
        for ident, state in handed.rules.items():
            i = mine.get(ident) if handed.cumulative == self.cumulative else None
            if i is None:
                dropped[ident[0]] = dropped.get(ident[0], 0) + len(state)
            else:
                self._seed(i, state)
        return dropped

    def series_counts(self) -> dict[str, int]:
        """Series per metric at the last flush (what was emitted), for the status page."""
        return dict(self._counts)

    def _seed(self, rule: int, state: dict[tuple, list]) -> None:
        raise NotImplementedError

    def _batch(self, points: list[list[m.Point]]) -> m.Metrics:
        """The rules' metrics, those with points, in one batch; their series counts kept for the status page."""
        self._counts = {rule.rule.name: len(p) for rule, p in zip(self.plan.rules, points)}
        metrics = [to_metric(rule, p, self.cumulative, meta)
                   for rule, p, meta in zip(self.plan.rules, points, self.metadata) if p]
        if not metrics:
            return m.Metrics([])
        return m.Metrics([m.ResourceMetrics(m.Resource({}), [m.ScopeMetrics(self.scope, metrics)])])


class Aggregator(_Aggregation):
    """Series state in Python dicts, from any scanner's intervals: the executable spec of :class:`HeldAggregator`."""

    def __init__(self, plan: Plan, on_overflow: Callable[[str, int], None] = lambda name, n: None,
                 scope: m.Scope = _SCOPE) -> None:
        super().__init__(plan, on_overflow, scope)
        #: per rule: series key -> [accumulator, last update time (the flush that merged it, ns)]
        self.state: list[dict[tuple, list]] = [{} for _ in plan.rules]
        #: per rule, since the last absorb: keys admitted that the state lacks, and records folded
        self._admitted = [0 for _ in plan.rules]
        self._folded = [0 for _ in plan.rules]

    def add_rule(self, rule: RulePlan, metadata: Mapping[str, Any]) -> int:
        """Append a rule found in the data to the plan; its index, for the scanner's interval."""
        self.plan.rules.append(rule)
        self.state.append({})
        self.metadata.append(metadata)
        self._admitted.append(0)
        self._folded.append(0)
        return len(self.plan.rules) - 1

    def take_series(self, other: "Aggregator") -> None:
        """Hold every series and metadata of another aggregator over the same rules, as they are."""
        self.state, self.metadata = other.state, other.metadata
        self._admitted = [0 for _ in self.state]
        self._folded = [0 for _ in self.state]

    def admits(self, rule: int, key: tuple) -> bool:
        """Whether a key new to the scanner's interval gets a series (else its record folds into the overflow).

        Asked as records arrive, so the overflow series sees them in order,
        as the compiled twin's does; a scanner that does not ask has its
        interval folded when it is merged, in its keys' order.
        """
        state = self.state[rule]
        if key in state:
            return True
        if len(state) + self._admitted[rule] >= self.plan.rules[rule].rule.cardinality_limit - 1:
            self._folded[rule] += 1
            return False
        self._admitted[rule] += 1
        return True

    def absorb(self, interval: list[dict[tuple, list]], now_ns: int) -> None:
        """Merge one interval into the series state, emitting nothing (a flush or a hand-over).

        The overflow is counted in records.
        """
        folded, self._folded = self._folded, [0 for _ in self._folded]
        self._admitted = [0 for _ in self._admitted]
        for rule, fresh, state, overflowed in zip(self.plan.rules, interval, self.state, folded):
            if not state and len(fresh) < rule.rule.cardinality_limit:
                # Nothing to merge into and nothing to fold (every delta interval, a cumulative state's
                # first): the entries are made without a Python loop, a third of the cost.
                state.update(zip(fresh, map(list, zip(fresh.values(), repeat(now_ns)))))
            else:
                overflowed += self._merge(rule, fresh, state, now_ns)
            if overflowed:
                self.on_overflow(rule.rule.name, overflowed)

    @staticmethod
    def _merge(rule: RulePlan, fresh: dict[tuple, list], state: dict[tuple, list], now_ns: int) -> int:
        """One rule's interval into its state, folding new keys past the limit; the records folded."""
        overflowed = 0
        for key, acc in fresh.items():
            entry = state.get(key)
            if entry is None:
                if len(state) >= rule.rule.cardinality_limit - 1 and key != OVERFLOW_KEY:
                    overflowed += acc[COUNT]
                    key = OVERFLOW_KEY
                    entry = state.get(key)
                if entry is None:
                    state[key] = [acc, now_ns]
                    continue
            merge(entry[0], acc)
            entry[1] = now_ns
        return overflowed

    def flush(self, interval: list[dict[tuple, list]], now_ns: int) -> m.Metrics:
        """Merge one interval and return the points to emit (possibly none).

        Delta: the state is what was absorbed since the last flush, and is emptied.
        """
        self.absorb(interval, now_ns)
        if self.cumulative and self.max_staleness_ns:
            horizon = now_ns - self.max_staleness_ns
            for state in self.state:
                for key in [k for k, e in state.items() if e[1] < horizon]:
                    del state[key]
        points = [points_of(rule, state) for rule, state in zip(self.plan.rules, self.state)]
        if not self.cumulative:
            self.state = [{} for _ in self.state]
        return self._batch(points)

    def export(self, now_ns: int) -> "AggregatorState":
        """The series state by rule identity, for a successor; this aggregator must not be used after."""
        return AggregatorState(self.cumulative, {identity(rule): state
                                                 for rule, state in zip(self.plan.rules, self.state) if state})

    def _seed(self, rule: int, state: dict[tuple, list]) -> None:
        self.state[rule] = state


class HeldAggregator(_Aggregation):
    """Series state held in the compiled scanner's own tables, updated as records are scanned.

    A flush then costs a point per series and no merge; each series'
    attribute map is made once, at its first flush. Results, overflow counts
    and reload state are the twin's (:class:`Aggregator`), which the tests
    check. ``interval``s passed in come from the twin scanner that applies
    the rules to records with map bodies; they are merged into the tables.
    """

    def __init__(self, plan: Plan, scanner: Any, on_overflow: Callable[[str, int], None] = lambda name, n: None,
                 scope: m.Scope = _SCOPE) -> None:
        super().__init__(plan, on_overflow, scope)
        self.scanner = scanner
        scanner.hold()

    def absorb(self, interval: list[dict[tuple, list]], now_ns: int) -> None:
        self.scanner.absorb(interval)
        self._report_overflow()

    def flush(self, interval: list[dict[tuple, list]], now_ns: int) -> m.Metrics:
        self.absorb(interval, now_ns)
        return self._batch(self.scanner.emit(now_ns, self.cumulative, self.max_staleness_ns))

    def export(self, now_ns: int) -> "AggregatorState":
        return AggregatorState(self.cumulative, {identity(rule): state for rule, state
                                                 in zip(self.plan.rules, self.scanner.export(now_ns)) if state})

    def _seed(self, rule: int, state: dict[tuple, list]) -> None:
        self.scanner.adopt(rule, state)

    def _report_overflow(self) -> None:
        for rule, n in zip(self.plan.rules, self.scanner.pop_overflowed()):
            if n:
                self.on_overflow(rule.rule.name, n)


@dataclass
class AggregatorState:
    """What an aggregator hands its successor on reload: series by rule identity."""

    cumulative: bool
    rules: dict[tuple, dict[tuple, list]]


def identity(rule: RulePlan) -> tuple:
    """What must not change for a rule's series to carry over a reload; the metric name comes first."""
    r = rule.rule
    return (r.name, r.type, r.unit, rule.dim_names, tuple(d.model_dump_json() for d in r.dimension_list), rule.bounds)


def merge(into: list, acc: list) -> None:
    """Fold a later accumulator of the same series into an earlier one."""
    into[COUNT] += acc[COUNT]
    into[TOTAL] += acc[TOTAL]
    into[LAST] = acc[LAST]
    into[MIN] = min(into[MIN], acc[MIN])
    into[MAX] = max(into[MAX], acc[MAX])
    into[LAST_NS] = acc[LAST_NS]
    for i in range(BUCKETS, len(acc)):
        into[i] += acc[i]


def attributes(names: tuple[str, ...], key: tuple) -> dict[str, str]:
    if key == OVERFLOW_KEY:
        return {"otel.metric.overflow": "true"}
    if None in key:
        return {name: value for name, value in zip(names, key) if value is not None}
    return dict(zip(names, key))


def number_points(state: dict[tuple, list], names: tuple[str, ...], value: int, start: bool) -> list[m.NumberPoint]:
    """A point per series: accumulator slot ``value``, and the series' first record time when ``start``."""
    return [m.NumberPoint(attributes(names, key), acc[LAST_NS], acc[value], acc[FIRST_NS] if start else 0)
            for key, (acc, _) in state.items()]


def histogram_points(state: dict[tuple, list], names: tuple[str, ...],
                     bounds: tuple[float, ...]) -> list[m.HistogramPoint]:
    return [m.HistogramPoint(attributes(names, key), acc[LAST_NS], acc[COUNT], acc[TOTAL], bounds, acc[BUCKETS:],
                             acc[FIRST_NS], acc[MIN], acc[MAX]) for key, (acc, _) in state.items()]


#: The builders a flush uses: the compiled twins where built (the same points, several times faster).
build_number_points, build_histogram_points = number_points, histogram_points
if not NO_EXTENSIONS:
    with contextlib.suppress(ImportError):
        from _fastpath._points import histogram_points as build_histogram_points  # type: ignore[assignment]
        from _fastpath._points import number_points as build_number_points  # type: ignore[assignment]


def points_of(rule: RulePlan, state: dict[tuple, list]) -> list[m.Point]:
    """A point per series of the rule's state."""
    if rule.kind == HISTOGRAM:
        return build_histogram_points(state, rule.dim_names, rule.bounds)
    if rule.kind == GAUGE:
        return build_number_points(state, rule.dim_names, LAST, False)
    return build_number_points(state, rule.dim_names, COUNT if rule.value_slot < 0 else TOTAL, True)


def to_metric(rule: RulePlan, points: list[m.Point], cumulative: bool,
              metadata: Mapping[str, Any] | None = None) -> m.Metric:
    """The rule's metric, named by it, with its points and the metadata given with the rule."""
    r = rule.rule
    meta = dict(metadata or {})
    temporality = m.Temporality.CUMULATIVE if cumulative else m.Temporality.DELTA
    if rule.kind == HISTOGRAM:
        return m.Metric(r.name, m.MetricType.HISTOGRAM, points, r.description, r.unit, temporality, metadata=meta)
    if rule.kind == GAUGE:
        return m.Metric(r.name, m.MetricType.GAUGE, points, r.description, r.unit, metadata=meta)
    return m.Metric(r.name, m.MetricType.SUM, points, r.description, r.unit, temporality,
                    monotonic=rule.kind == COUNTER, metadata=meta)
