"""What the status page shows, as plain JSON-ready data, built from the running service.

Each function reads one thing: the pipeline graph from the resolved config,
queue depths from the sampled gauges, the cardinality of each limited metric
against its limit. None of them changes the service.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Protocol, runtime_checkable

from collector.component import ComponentID, Kind
from collector.pdata import metrics as m
from collector.resolve import ResolvedConfig

QUEUE_SIZE = "otelcol_exporter_queue_size"
QUEUE_CAPACITY = "otelcol_exporter_queue_capacity"
#: counters of points or series folded or dropped because a metric hit its limit, labelled {metric}
OVERFLOW_COUNTERS = (
    "fathom_cardinality_overflow_points",
    "fathom_cardinality_dropped_points",
    "fathom_logs_to_metrics_overflow_records",
)


def node_key(kind: Kind, id: ComponentID, pipeline: str = "") -> str:
    """A node's key in the picture; processors are one instance per pipeline."""
    return f"{kind.value}:{id}" + (f"@{pipeline}" if kind is Kind.PROCESSOR else "")


def graph(config: ResolvedConfig) -> dict[str, Any]:
    """Nodes and edges of every pipeline; a connector is one node joining two pipelines."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, str]] = []

    def kind_of(id: ComponentID, default: Kind) -> Kind:
        return Kind.CONNECTOR if (Kind.CONNECTOR, id) in config.components else default

    def add(kind: Kind, id: ComponentID, pipeline: str) -> str:
        key = node_key(kind, id, pipeline)
        node = nodes.setdefault(key, {"key": key, "kind": kind.value, "id": str(id), "pipelines": []})
        if pipeline not in node["pipelines"]:
            node["pipelines"].append(pipeline)
        return key

    pipelines = []
    for name, p in sorted(config.pipelines.items()):
        stage = [add(kind_of(id, Kind.RECEIVER), id, name) for id in p.receivers]
        for id in p.processors:
            key = add(Kind.PROCESSOR, id, name)
            edges += [{"from": src, "to": key, "pipeline": name} for src in stage]
            stage = [key]
        for id in p.exporters:
            key = add(kind_of(id, Kind.EXPORTER), id, name)
            edges += [{"from": src, "to": key, "pipeline": name} for src in stage]
        pipelines.append({"name": name, "signal": p.signal.value, "receivers": [str(i) for i in p.receivers],
                          "processors": [str(i) for i in p.processors], "exporters": [str(i) for i in p.exporters]})
    return {"pipelines": pipelines, "nodes": list(nodes.values()), "edges": edges}


def queues(config: ResolvedConfig, gauges: Mapping[tuple[str, str], float]) -> list[dict[str, Any]]:
    """Queue depth and capacity of every exporter that has a sending queue."""
    out = []
    for kind, id in sorted(config.components):
        capacity = gauges.get((QUEUE_CAPACITY, str(id)))
        if kind is Kind.EXPORTER and capacity is not None:
            out.append({"exporter": str(id), "size": gauges.get((QUEUE_SIZE, str(id)), 0.0), "capacity": capacity})
    return out


@runtime_checkable
class ReportsCardinality(Protocol):
    """A component that can say how many series each metric holds now (optional)."""

    def series_counts(self) -> Mapping[str, int]: ...


def cardinality(config: ResolvedConfig, components: Iterable[tuple[Kind, ComponentID, Any]],
                snapshot: m.Metrics) -> list[dict[str, Any]]:
    """Per limited metric: its limit, current series (where the component reports it) and overflow.

    Limits come from the configs of ``cardinality_limiter`` processors
    (``limit``, ``metrics``) and ``logs_to_metrics`` connectors (each rule's
    ``cardinality_limit``); overflow from the counters in
    :data:`OVERFLOW_COUNTERS`; current series from components that
    implement :class:`ReportsCardinality`.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(component: str, metric: str, limit: int | None) -> dict[str, Any]:
        return rows.setdefault((component, metric), {"component": component, "metric": metric, "limit": limit,
                                                      "series": None, "overflow": 0.0})

    limits: dict[str, tuple[int, Mapping[str, int]]] = {}
    for (kind, id), spec in config.components.items():
        if spec.factory.type == "cardinality_limiter":
            limits[str(id)] = (spec.config.limit, spec.config.metrics)  # type: ignore[attr-defined]
            for metric, limit in spec.config.metrics.items():  # type: ignore[attr-defined]
                row(str(id), metric, limit)
        elif spec.factory.type == "logs_to_metrics":
            rules = {rule.name: rule.cardinality_limit for rule in spec.config.metrics}  # type: ignore[attr-defined]
            limits[str(id)] = (0, rules)
            for metric, limit in rules.items():
                row(str(id), metric, limit)

    def limit_of(component: str, metric: str) -> int | None:
        default, per_metric = limits.get(component, (0, {}))
        return per_metric.get(metric, default or None)

    for _, _, metric in snapshot.iter_metrics():
        if metric.name not in OVERFLOW_COUNTERS:
            continue
        for point in metric.points:
            attrs = point.attributes
            component = str(attrs.get("processor") or attrs.get("connector") or "")
            name = str(attrs.get("metric", ""))
            r = row(component, name, limit_of(component, name))
            r["overflow"] += point.value  # type: ignore[union-attr]
    for _, id, component in components:
        if isinstance(component, ReportsCardinality):
            for name, count in component.series_counts().items():
                row(str(id), name, limit_of(str(id), name))["series"] = count
    return sorted(rows.values(), key=lambda r: (r["component"], r["metric"]))
