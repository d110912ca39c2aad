"""The collector's own counters, sampled over time, as per-component rates.

The service counts items per batch into cumulative counters labelled with the
component (``{"exporter": "otlp/2"}``); a rate is the difference between two
samples over their time apart. Each counter name maps to one of four
columns an operator reads: received, sent, failed, dropped.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable

from collector.component import Kind
from collector.pdata import metrics as m

COLUMNS = ("received", "sent", "failed", "dropped")

#: counter-name prefix -> column. A prefix covers every signal's item word
#: (``otelcol_exporter_sent_log_records``, ``..._metric_points``, ``..._spans``).
_COLUMN_OF = (
    ("otelcol_receiver_accepted_", "received"),
    ("otelcol_receiver_refused_", "failed"),
    ("otelcol_processor_incoming_items", "received"),
    ("otelcol_processor_outgoing_items", "sent"),
    ("fathom_processor_refused_", "failed"),
    ("otelcol_exporter_sent_", "sent"),
    ("otelcol_exporter_send_failed_", "failed"),
    ("fathom_exporter_rejected_", "failed"),
    ("otelcol_exporter_enqueue_failed_", "dropped"),
    ("fathom_exporter_dropped", "dropped"),
    ("fathom_cardinality_dropped_points", "dropped"),
)
_KINDS = tuple(k.value for k in Kind)

#: (kind, component id, column)
Key = tuple[str, str, str]


def column(metric_name: str) -> str | None:
    for prefix, col in _COLUMN_OF:
        if metric_name.startswith(prefix):
            return col
    return None


def component_of(attributes: dict) -> tuple[str, str] | None:
    """``{"exporter": "otlp/2", ...}`` -> ``("exporter", "otlp/2")``."""
    for kind in _KINDS:
        if kind in attributes:
            return kind, str(attributes[kind])
    return None


def totals(snapshot: m.Metrics) -> dict[Key, float]:
    """Each component's cumulative total per column, summed over signals."""
    out: dict[Key, float] = {}
    for _, _, metric in snapshot.iter_metrics():
        col = column(metric.name)
        if col is None or metric.type is not m.MetricType.SUM:
            continue
        for point in metric.points:
            owner = component_of(point.attributes)
            if owner is not None:
                key = (*owner, col)
                out[key] = out.get(key, 0.0) + point.value  # type: ignore[union-attr]
    return out


@dataclass(frozen=True)
class Sample:
    time: float  # monotonic seconds
    totals: dict[Key, float]
    gauges: dict[tuple[str, str], float]  # (metric name, component id) -> value, for queue depths


class History:
    """The last ``keep`` samples; old ones fall off."""

    def __init__(self, keep: int) -> None:
        self.samples: deque[Sample] = deque(maxlen=keep)

    def add(self, now: float, snapshot: m.Metrics, gauge_names: Iterable[str]) -> None:
        wanted = set(gauge_names)
        gauges: dict[tuple[str, str], float] = {}
        for _, _, metric in snapshot.iter_metrics():
            if metric.name in wanted:
                for point in metric.points:
                    owner = component_of(point.attributes)
                    if owner is not None:
                        gauges[(metric.name, owner[1])] = float(point.value)  # type: ignore[union-attr]
        self.samples.append(Sample(now, totals(snapshot), gauges))

    def rates(self, window: float) -> dict[Key, float]:
        """Items per second over about the last ``window`` seconds (the oldest sample within it)."""
        if len(self.samples) < 2:
            return {}
        last = self.samples[-1]
        first = next((s for s in self.samples if last.time - s.time <= window and s is not last), self.samples[-2])
        return _rate(first, last)

    def series(self, kind: str, id: str, columns: Iterable[str], gauge: str) -> dict[str, list[float]]:
        """Per-interval rates of ``columns`` and the ``gauge`` values, oldest first, for a chart."""
        cols = list(columns)
        out: dict[str, list[float]] = {c: [] for c in [*cols, "queue"]}
        samples = list(self.samples)
        for before, after in zip(samples, samples[1:]):
            step = _rate(before, after)
            for c in cols:
                out[c].append(round(step.get((kind, id, c), 0.0), 3))
            out["queue"].append(after.gauges.get((gauge, id), 0.0))
        return out


def _rate(before: Sample, after: Sample) -> dict[Key, float]:
    dt = after.time - before.time
    if dt <= 0:
        return {}
    out: dict[Key, float] = {}
    for key, value in after.totals.items():
        prior = before.totals.get(key, 0.0)
        # A counter lower than before was re-created (a reload): it counts from zero.
        out[key] = (value - prior if value >= prior else value) / dt
    return out
