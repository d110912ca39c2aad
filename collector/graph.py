"""Builds the running pipelines from a resolved config, and starts and stops them in order.

Every component is created after everything downstream of it (its
consumers exist before it does), so creation order is a topological order
of the graph: start follows it (downstream first, so nothing is sent to a
component that is not running), shutdown reverses it (upstream first, so
each component drains into a consumer that is still running).

Per pipeline: receivers -> processors, in order -> fan-out -> exporters and
connectors. A receiver is one instance feeding every pipeline that lists it;
processors are one instance per pipeline; exporters and connectors are one
instance per id.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from collector.component import Component, ComponentID, Consumer, Host, Kind, Settings, Signal, Stateful
from collector.fanout import ObservedExporter, ObservedProcessorEdge, ObservedReceiver, fan_out
from collector.resolve import PipelineSpec, ResolvedConfig
from collector.telemetry import Telemetry

log = logging.getLogger("fathom.graph")


@dataclass
class Node:
    """A created component and where it sits, for lifecycle and status."""

    kind: Kind
    id: ComponentID
    component: Component
    pipeline: str = ""

    @property
    def key(self) -> tuple[Kind, ComponentID, str]:
        """What identifies the same component across a reload."""
        return self.kind, self.id, self.pipeline

    @property
    def label(self) -> str:
        where = f" in pipeline {self.pipeline!r}" if self.pipeline else ""
        return f"{self.kind} {str(self.id)!r}{where}"


class Graph:
    """The built pipelines. Create with :func:`build`."""

    def __init__(self, config: ResolvedConfig, telemetry: Telemetry) -> None:
        self.config = config
        self.telemetry = telemetry
        self.nodes: list[Node] = []  # creation order: downstream before upstream
        self._exporters: dict[ComponentID, Consumer] = {}
        self._connectors: dict[ComponentID, Consumer] = {}
        self._pipeline_entries: dict[str, Consumer] = {}
        self._started: list[Node] = []

    # -- build -------------------------------------------------------------

    def _settings(self, kind: Kind, id: ComponentID, signals: frozenset[Signal], pipeline: str = "") -> Settings:
        logger = logging.getLogger(f"fathom.{kind.value}.{id}")
        return Settings(id, kind, logger, self.telemetry.for_component(id, kind), signals, pipeline)

    def _add(self, kind: Kind, id: ComponentID, component: Any, pipeline: str = "") -> None:
        self.nodes.append(Node(kind, id, component, pipeline))

    def _exporter(self, id: ComponentID) -> Consumer:
        if id not in self._exporters:
            spec = self.config.spec(Kind.EXPORTER, id)
            signals = frozenset(p.signal for p in self.config.pipelines.values() if id in p.exporters)
            settings = self._settings(Kind.EXPORTER, id, signals)
            exporter = spec.factory.create(settings, spec.config)
            self._add(Kind.EXPORTER, id, exporter)
            counts_itself = getattr(exporter, "counts_itself", False)
            self._exporters[id] = exporter if counts_itself else ObservedExporter(exporter, settings.telemetry)
        return self._exporters[id]

    def _connector(self, id: ComponentID) -> Consumer:
        if id not in self._connectors:
            spec = self.config.spec(Kind.CONNECTOR, id)
            targets = [p for p in self.config.pipelines.values() if id in p.receivers]
            next: dict[Signal, Consumer] = {}
            for signal in {p.signal for p in targets}:
                entries = [self._pipeline_entry(p) for p in targets if p.signal is signal]
                next[signal] = fan_out(entries)
            sources = frozenset(p.signal for p in self.config.pipelines.values() if id in p.exporters)
            settings = self._settings(Kind.CONNECTOR, id, sources)
            connector = spec.factory.create(settings, spec.config, next)
            self._add(Kind.CONNECTOR, id, connector)
            self._connectors[id] = connector
        return self._connectors[id]

    def _pipeline_entry(self, pipeline: PipelineSpec) -> Consumer:
        """The consumer at the head of a pipeline: its first processor, or its fan-out."""
        entry = self._pipeline_entries.get(pipeline.name)
        if entry is not None:
            return entry
        consumers = [
            self._connector(id) if (Kind.CONNECTOR, id) in self.config.components else self._exporter(id)
            for id in pipeline.exporters
        ]
        next = fan_out(consumers)
        for id in reversed(pipeline.processors):
            spec = self.config.spec(Kind.PROCESSOR, id)
            settings = self._settings(Kind.PROCESSOR, id, frozenset({pipeline.signal}), pipeline.name)
            out = ObservedProcessorEdge(next, settings.telemetry, "outgoing")
            processor = spec.factory.create(settings, spec.config, out)
            self._add(Kind.PROCESSOR, id, processor, pipeline.name)
            next = ObservedProcessorEdge(processor, settings.telemetry, "incoming")
        self._pipeline_entries[pipeline.name] = next
        return next

    def _build(self) -> None:
        receivers: dict[ComponentID, list[PipelineSpec]] = {}
        for pipeline in self.config.pipelines.values():
            self._pipeline_entry(pipeline)
            for id in pipeline.receivers:
                if (Kind.RECEIVER, id) in self.config.components:
                    receivers.setdefault(id, []).append(pipeline)
        for id, pipelines in receivers.items():
            spec = self.config.spec(Kind.RECEIVER, id)
            signals = frozenset(p.signal for p in pipelines)
            settings = self._settings(Kind.RECEIVER, id, signals)
            consumers = {
                signal: ObservedReceiver(
                    fan_out([self._pipeline_entry(p) for p in pipelines if p.signal is signal]),
                    settings.telemetry,
                )
                for signal in signals
            }
            self._add(Kind.RECEIVER, id, spec.factory.create(settings, spec.config, consumers))

    # -- lifecycle ---------------------------------------------------------

    async def start(self, host: Host) -> None:
        """Start downstream first. On failure, stop what started and re-raise."""
        for node in self.nodes:
            try:
                await node.component.start(host)
            except Exception as exc:  # the caller shuts down (or hands over) what started
                raise StartError(f"{node.label} failed to start: {exc}") from exc
            self._started.append(node)

    async def shutdown(self, deadline: float, successor: "Graph | None" = None) -> None:
        """Stop upstream first; each component drains into its still-running consumers.

        ``deadline`` (seconds) bounds the whole drain; a component that has
        not finished by its share of it is cancelled and the rest go on.
        With a ``successor`` (a reload), a stateful component that the new
        graph has too hands its state over instead of draining.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        started, self._started = self._started, []
        heirs = successor.stateful_nodes() if successor is not None else {}
        for node in reversed(self.nodes):
            remaining = max(end - loop.time(), 0.05)
            heir = heirs.get(node.key) if isinstance(node.component, Stateful) else None
            if heir is not None and type(heir.component) is not type(node.component):
                heir = None
            if heir is None and node not in started:
                continue  # never started, nothing to stop or to pass on
            try:
                if heir is not None:
                    state = await asyncio.wait_for(node.component.hand_over(), remaining)
                    heir.component.take_over(state)
                else:
                    await asyncio.wait_for(node.component.shutdown(), remaining)
            except TimeoutError:
                log.error("%s did not drain within the shutdown deadline", node.label)
            except Exception:
                log.exception("%s failed to shut down", node.label)

    def stateful_nodes(self) -> dict[tuple[Kind, ComponentID, str], Node]:
        return {node.key: node for node in self.nodes if isinstance(node.component, Stateful)}


class StartError(Exception):
    """A component could not start (a port in use, a bad certificate...)."""


def build(config: ResolvedConfig, telemetry: Telemetry) -> Graph:
    """Create every component of every pipeline. Raises what a factory raises."""
    graph = Graph(config, telemetry)
    graph._build()
    return graph
