"""Rules compiled for scanning: numbered field slots, per-rule slot indices, accumulator layout.

Both scanner twins (``scan_py`` and ``_fastpath._scan``) read the same plan
and fill the same accumulators, so the plan is the contract between them.
A record is turned into a *row*: one value per slot (``MISSING`` when
absent), body slots from the parsed line, ``resource``/``attributes`` slots
from the chunk (constant per chunk).

An accumulator is a list ``[count, total, last, min, max, first_ns,
last_ns, *bucket_counts]``: count of records, float sum of values, last
value, extremes, and record times; one per (rule, series key) per interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from collector.connectors.logs_to_metrics.config import Config, MetricRule
from collector.expr import MISSING, Expression, Path, parse_path

COUNT, TOTAL, LAST, MIN, MAX, FIRST_NS, LAST_NS, BUCKETS = range(8)

COUNTER, UPDOWN, GAUGE, HISTOGRAM = range(4)
_KINDS = {"counter": COUNTER, "updown_counter": UPDOWN, "gauge": GAUGE, "histogram": HISTOGRAM}

TS_NONE, TS_RFC3339, TS_EPOCH_S, TS_EPOCH_MS, TS_EPOCH_NS = range(5)
_TS_FORMATS = {"rfc3339": TS_RFC3339, "epoch_s": TS_EPOCH_S, "epoch_ms": TS_EPOCH_MS, "epoch_ns": TS_EPOCH_NS}

#: Per-line reasons (counted once per line) and per-rule reasons (once per rule that rejects it).
LINE_REASONS = ("too_long", "invalid_utf8", "invalid_json", "not_object", "no_match", "bad_timestamp")
RULE_REASONS = ("missing_value", "wrong_type", "negative_value")

#: What the compiled scanner puts in a row for an object or array value;
#: the twin puts the dict or list itself. Conditions treat both alike.
COMPOUND: Any = type("Compound", (), {"__repr__": lambda self: "COMPOUND"})()

#: The series key that new series fold into once a metric holds ``cardinality_limit``
#: series. Its one element is no string, so no record's dimension values can equal it.
OVERFLOW_KEY: tuple = (type("Overflow", (), {"__repr__": lambda self: "OVERFLOW"})(),)


@dataclass(frozen=True)
class RulePlan:
    rule: MetricRule
    kind: int
    where: Callable[[Sequence[Any]], bool] | None
    where_slots: tuple[int, ...]
    value_slot: int  # -1: count records
    dim_slots: tuple[int, ...]
    dim_defaults: tuple[str | None, ...]
    dim_skip: tuple[bool, ...]
    dim_names: tuple[str, ...]
    bounds: tuple[float, ...]


class Plan:
    """The compiled rules of one connector instance."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.max_line_bytes = config.max_line_bytes
        self.slots: list[Path] = []
        self._index: dict[Path, int] = {}
        ts = config.timestamp
        self.ts_slot = self.slot(parse_path(ts.field)) if ts else -1
        self.ts_format = _TS_FORMATS[ts.format] if ts else TS_NONE
        self.rules = [self._rule(rule) for rule in config.metrics]
        #: body slots with their key paths, the only ones a line scan fills
        self.body_slots = [(i, p.keys) for i, p in enumerate(self.slots) if p.root == "body"]

    def slot(self, path: Path) -> int:
        if path not in self._index:
            self._index[path] = len(self.slots)
            self.slots.append(path)
        return self._index[path]

    def _rule(self, rule: MetricRule) -> RulePlan:
        where = Expression(rule.where) if rule.where else None
        dims = rule.dimension_list
        where_slots = tuple(self.slot(p) for p in where.paths) if where else ()
        return RulePlan(
            rule=rule,
            kind=_KINDS[rule.type],
            where=where.bind(lambda p: _row_getter(self._index[p])) if where else None,
            where_slots=where_slots,
            value_slot=self.slot(parse_path(rule.value)) if rule.value else -1,
            dim_slots=tuple(self.slot(d.path) for d in dims),
            dim_defaults=tuple(d.default for d in dims),
            dim_skip=tuple(d.on_missing == "skip" for d in dims),
            dim_names=tuple(d.attribute for d in dims),
            bounds=tuple(float(b) for b in rule.buckets or ()),
        )

    def consts(self, resource: Mapping[str, Any], attributes: Mapping[str, Any]) -> list[Any]:
        """A row template for one chunk: resource and attribute slots filled, body slots MISSING."""
        row = [MISSING] * len(self.slots)
        for i, path in enumerate(self.slots):
            if path.root != "body":
                source = resource if path.root == "resource" else attributes
                row[i] = path.lookup(dict(source))
        return row

    def new_acc(self, rule: RulePlan) -> list:
        return [0, 0.0, 0.0, float("inf"), float("-inf"), 0, 0] + [0] * (len(rule.bounds) + 1 if rule.bounds else 0)


def _row_getter(slot: int) -> Callable[[Sequence[Any]], Any]:
    return lambda row: row[slot]
