"""The last window of each running ``top_contributors`` connector.

The connector emits its rankings as metrics into the pipelines after it and
keeps nothing once a window closes, so the page listens on its way out: a
:class:`LastWindow` is put between the connector and its next consumer, passes
every batch on unchanged, and remembers the last one. Reading the metrics
back by the rules' names keeps the ranking logic in one place, the connector.
"""

from __future__ import annotations

from typing import Any

from collector.component import Consumer, Kind
from collector.fanout import clone
from collector.pdata import Batch, Metrics

CONNECTOR_TYPE = "top_contributors"


class LastWindow:
    """Forwards to ``next``; keeps the last batch for the page (read-only)."""

    def __init__(self, next: Consumer) -> None:
        self.next = next
        self.mutates_data = next.mutates_data
        self.last: Metrics | None = None

    async def consume(self, batch: Batch) -> None:
        if isinstance(batch, Metrics):
            # A processor after the connector may change the batch in place: keep a copy (a window is small).
            self.last = clone(batch)
        await self.next.consume(batch)


def tap(graph: Any, config: Any) -> dict[str, tuple[LastWindow, Any]]:
    """Put a :class:`LastWindow` after every ``top_contributors`` node of ``graph``.

    Returns connector id -> (tap, connector config). The connector hands its
    windows to the consumer in its ``_next`` attribute.
    """
    taps: dict[str, tuple[LastWindow, Any]] = {}
    for node in graph.nodes:
        if node.kind is not Kind.CONNECTOR or node.id.type != CONNECTOR_TYPE:
            continue
        next = getattr(node.component, "_next", None)
        if next is None:
            continue
        window = next if isinstance(next, LastWindow) else LastWindow(next)
        node.component._next = window
        taps[str(node.id)] = (window, config.spec(Kind.CONNECTOR, node.id).config)
    return taps


def rankings(taps: dict[str, tuple[LastWindow, Any]]) -> list[dict[str, Any]]:
    """Per connector and rule: the last window's top K, the rest, the total and the error bound."""
    if not taps:
        return []
    # Not a top-level import: the connector's module loads its sketch library (and numpy), which a
    # status page without a top_contributors connector must not make every start-up pay for.
    from collector.connectors.top_contributors import OTHER_ATTRIBUTES

    out = []
    for id, (window, config) in taps.items():
        values = _by_name(window.last) if window.last is not None else {}
        for rule in config.rules:
            points = values.get(rule.name, [])
            top = [{"key": attrs, "value": value} for attrs, value in points if attrs != dict(OTHER_ATTRIBUTES)]
            other = sum(value for attrs, value in points if attrs == dict(OTHER_ATTRIBUTES))
            out.append({
                "connector": id, "rule": rule.name, "keys": list(rule.keys), "top_k": rule.top_k,
                "window": config.window, "top": top, "other": other,
                "total": _single(values, rule.name + ".total"),
                "unique": _single(values, rule.name + ".unique_contributors"),
                "error_bound": _single(values, rule.name + ".error_bound"),
                "emitted": window.last is not None,
            })
    return out


def _by_name(batch: Metrics) -> dict[str, list[tuple[dict, float]]]:
    out: dict[str, list[tuple[dict, float]]] = {}
    for _, _, metric in batch.iter_metrics():
        out.setdefault(metric.name, []).extend((dict(p.attributes), p.value) for p in metric.points)  # type: ignore[attr-defined]
    return out


def _single(values: dict[str, list[tuple[dict, float]]], name: str) -> float | None:
    points = values.get(name)
    return points[0][1] if points else None
