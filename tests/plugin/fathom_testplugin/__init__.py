"""Components that live outside fathom, registered only through entry points.

``testgen`` emits numbered log records at a steady rate; ``testfile`` appends
one JSON line per record it exports (optionally slowly), so a test can count
exactly what went in and what came out of a real ``fathom run`` process.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from pydantic import Field

from collector.component import ComponentConfig, Factory, Kind, Signal, Stability
from collector.errors import RetryableError
from collector.exporterhelper import ExporterConfig, PushExporter, QueuedExporter
from collector.pdata import LineChunk, Logs


class GenConfig(ComponentConfig):
    batch: int = Field(10, ge=1, description="Records per batch.")
    interval: float = Field(0.01, ge=0, description="Seconds between batches.")
    total: int = Field(0, ge=0, description="Stop after this many records; 0 never stops.")
    tag: str = Field("", description="Added to every record, to tell the runs of a restart test apart.")


class Gen:
    def __init__(self, settings: Any, config: GenConfig, consumers: Any) -> None:
        self._config = config
        self._next = consumers[Signal.LOGS]
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    async def start(self, host: Any) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        c = self._config
        while not c.total or self.sent < c.total:
            n = c.batch if not c.total else min(c.batch, c.total - self.sent)
            tag = {"run": c.tag} if c.tag else {}
            data = "\n".join(json.dumps({**tag, "seq": self.sent + i}) for i in range(n)).encode()
            await self._next.consume(Logs(chunks=[LineChunk(data, n)]))
            self.sent += n
            await asyncio.sleep(c.interval)

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class FileConfig(ExporterConfig):
    path: str = Field(description="Append one JSON line per exported record.")
    delay: float = Field(0.0, ge=0, description="Seconds each push takes.")
    down_flag: str = Field("", description="While this file exists the backend is down: pushes fail, retryably.")


class FileExporter(PushExporter):
    def __init__(self, config: FileConfig) -> None:
        self._config = config

    async def push(self, batch: Any) -> None:
        await asyncio.sleep(self._config.delay)
        if self._config.down_flag and os.path.exists(self._config.down_flag):
            raise RetryableError("backend down")
        with open(self._config.path, "a") as f:
            for chunk in batch.chunks or []:
                for line in chunk.lines():
                    f.write(line.decode() + "\n")


receiver_factory = Factory(
    type="testgen", kind=Kind.RECEIVER, config=GenConfig, create=Gen,
    signals={Signal.LOGS: Stability.DEVELOPMENT}, description="Test plugin: generates numbered logs.",
)
exporter_factory = Factory(
    type="testfile", kind=Kind.EXPORTER, config=FileConfig,
    create=lambda settings, config: QueuedExporter(settings, config, FileExporter(config)),
    signals={Signal.LOGS: Stability.DEVELOPMENT}, description="Test plugin: writes records to a file.",
)
