"""In-process components for core tests: a source tests push into, recorders, and faulty exporters."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from collector.component import ComponentConfig, Factory, Kind, Signal, Stability
from collector.errors import PermanentError, RetryableError
from collector.exporterhelper import ExporterConfig, PushExporter, QueuedExporter
from collector.pdata import LineChunk, Logs

ALL = {Signal.LOGS: Stability.DEVELOPMENT, Signal.METRICS: Stability.DEVELOPMENT, Signal.TRACES: Stability.DEVELOPMENT}
EVENTS: list[str] = []  # lifecycle events, in order, for ordering tests


class SourceConfig(ComponentConfig):
    pass


class Source:
    """A receiver that tests drive: ``await Source.instances[id].send(batch)``."""

    instances: dict[str, "Source"] = {}

    def __init__(self, settings: Any, config: SourceConfig, consumers: Any) -> None:
        self.id = str(settings.id)
        self.consumers = consumers
        Source.instances[self.id] = self

    async def send(self, batch: Any) -> None:
        await self.consumers[batch.signal].consume(batch)

    async def start(self, host: Any) -> None:
        EVENTS.append(f"start receiver {self.id}")

    async def shutdown(self) -> None:
        EVENTS.append(f"stop receiver {self.id}")


class RecorderConfig(ComponentConfig):
    delay: float = Field(0.0, ge=0)
    hang: bool = False


class Recorder:
    """An exporter that keeps what it gets (no helper: the graph counts for it)."""

    instances: dict[str, "Recorder"] = {}
    mutates_data = False

    def __init__(self, settings: Any, config: RecorderConfig) -> None:
        self.id = str(settings.id)
        self.config = config
        self.batches: list[Any] = []
        Recorder.instances[self.id] = self

    async def consume(self, batch: Any) -> None:
        if self.config.hang:
            await asyncio.Event().wait()
        await asyncio.sleep(self.config.delay)
        self.batches.append(batch)

    def items(self) -> int:
        return sum(b.item_count() for b in self.batches)

    async def start(self, host: Any) -> None:
        EVENTS.append(f"start exporter {self.id}")

    async def shutdown(self) -> None:
        EVENTS.append(f"stop exporter {self.id}")


class PassConfig(ComponentConfig):
    pass


class Pass:
    """A processor that records its lifecycle and passes batches on."""

    mutates_data = False

    def __init__(self, settings: Any, config: PassConfig, next: Any) -> None:
        self.label = f"{settings.id}@{settings.pipeline}"
        self.next = next

    async def consume(self, batch: Any) -> None:
        await self.next.consume(batch)

    async def start(self, host: Any) -> None:
        EVENTS.append(f"start processor {self.label}")

    async def shutdown(self) -> None:
        EVENTS.append(f"stop processor {self.label}")


class BridgeConfig(ComponentConfig):
    pass


class Bridge:
    """A logs->metrics connector stand-in that forwards item counts as empty metrics batches."""

    mutates_data = False

    def __init__(self, settings: Any, config: BridgeConfig, next: Any) -> None:
        self.id = str(settings.id)
        self.next = next

    async def consume(self, batch: Any) -> None:
        target = next(iter(self.next))
        await self.next[target].consume(batch)

    async def start(self, host: Any) -> None:
        EVENTS.append(f"start connector {self.id}")

    async def shutdown(self) -> None:
        EVENTS.append(f"stop connector {self.id}")


class ScriptedConfig(ExporterConfig):
    pass


class Scripted(PushExporter):
    """A push function whose outcomes a test scripts: a list of exceptions or None."""

    def __init__(self) -> None:
        self.outcomes: list[BaseException | None | float] = []
        self.attempts: list[float] = []
        self.pushed: list[Any] = []

    async def push(self, batch: Any) -> None:
        self.attempts.append(asyncio.get_running_loop().time())
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, float):
            await asyncio.sleep(outcome)
        elif outcome is not None:
            raise outcome
        self.pushed.append(batch)


class PusherConfig(ExporterConfig):
    hang: bool = False


class Pusher(PushExporter):
    """A push function that hangs forever when told to, behind the real exporter helper."""

    instances: dict[str, "Pusher"] = {}

    def __init__(self, settings: Any, config: PusherConfig) -> None:
        self.config = config
        self.pushed: list[Any] = []
        Pusher.instances[str(settings.id)] = self

    async def push(self, batch: Any) -> None:
        if self.config.hang:
            await asyncio.Event().wait()
        self.pushed.append(batch)


def logs(n: int) -> Logs:
    data = b"\n".join(b'{"i": %d}' % i for i in range(n))
    return Logs(chunks=[LineChunk(data, n)])


FACTORIES = [
    Factory("source", Kind.RECEIVER, SourceConfig, Source, ALL),
    Factory("recorder", Kind.EXPORTER, RecorderConfig, Recorder, ALL),
    Factory("pusher", Kind.EXPORTER, PusherConfig,
            lambda settings, config: QueuedExporter(settings, config, Pusher(settings, config)), ALL),
    Factory("pass", Kind.PROCESSOR, PassConfig, Pass, ALL),
    Factory("bridge", Kind.CONNECTOR, BridgeConfig, Bridge, {(Signal.LOGS, Signal.METRICS): Stability.DEVELOPMENT,
                                                             (Signal.LOGS, Signal.LOGS): Stability.DEVELOPMENT}),
]

__all__ = ["EVENTS", "FACTORIES", "PermanentError", "RetryableError", "QueuedExporter"]
