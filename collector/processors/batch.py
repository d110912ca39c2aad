"""The ``batch`` processor: fewer, larger batches for the exporters behind it.

Batches are merged until ``send_batch_size`` items are pending or the oldest
has waited ``timeout``; a merged batch larger than ``send_batch_max_size``
is split. As in the OpenTelemetry Collector, the processor accepts data at
once and a failure further down is logged, not returned to a sender whose
data is only part of what failed. Shutdown flushes what is pending.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field, model_validator

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.configtypes import Duration
from collector.errors import ConsumeError
from collector.pdata import Batch
from collector.pdata.batching import merge, split


class BatchConfig(ComponentConfig):
    send_batch_size: int = Field(8192, ge=0, description="Items that trigger a send, regardless of the timeout.")
    send_batch_max_size: int = Field(0, ge=0, description="Upper bound of one batch's items; 0 means no bound.")
    timeout: Duration = Field(0.2, description="Longest wait before a batch is sent, whatever its size.")

    @model_validator(mode="after")
    def _max_not_below_size(self) -> "BatchConfig":
        if self.send_batch_max_size and self.send_batch_max_size < self.send_batch_size:
            raise ValueError(
                f"send_batch_max_size ({self.send_batch_max_size}) must be 0 or at least "
                f"send_batch_size ({self.send_batch_size})"
            )
        return self


class BatchProcessor:
    mutates_data = False

    def __init__(self, settings: Settings, config: BatchConfig, next: Consumer) -> None:
        self._log = settings.logger
        self._config = config
        self._next = next
        self._pending: list[Batch] = []
        self._pending_items = 0
        self._has_data = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self, host: Host) -> None:
        if self._timer is None and not self._stopped:
            self._timer = asyncio.create_task(self._flush_on_timeout())

    async def consume(self, batch: Batch) -> None:
        self._pending.append(batch)
        self._pending_items += batch.item_count()
        self._has_data.set()
        if self._pending_items >= self._config.send_batch_size or self._stopped:
            await self._flush()

    async def _flush_on_timeout(self) -> None:
        while True:
            await self._has_data.wait()
            await asyncio.sleep(self._config.timeout)
            await self._flush()

    async def _flush(self) -> None:
        pending, self._pending, self._pending_items = self._pending, [], 0
        self._has_data.clear()
        if not pending:
            return
        merged = merge(pending)
        pieces = split(merged, self._config.send_batch_max_size) if self._config.send_batch_max_size else [merged]
        for piece in pieces:
            try:
                await self._next.consume(piece)
            except ConsumeError as exc:
                self._log.warning("dropped a batch of %d items: %s", piece.item_count(), exc)

    async def shutdown(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
        await self._flush()


def create(settings: Settings, config: BatchConfig, next: Consumer) -> Any:
    return BatchProcessor(settings, config, next)


factory = Factory(
    type="batch",
    kind=Kind.PROCESSOR,
    config=BatchConfig,
    create=create,
    signals={Signal.LOGS: Stability.BETA, Signal.METRICS: Stability.BETA, Signal.TRACES: Stability.BETA},
    description="Merges batches by size and time, and splits oversized ones.",
)
