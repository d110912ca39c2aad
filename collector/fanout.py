"""Consumers the graph puts between components: fan-out and self-telemetry.

Fan-out hands one read-only batch to every consumer in turn and copies only
for a consumer that declared ``mutates_data``. Exporters queue, so handing a
batch over is quick; a stalled backend stalls only its own queue. A failing
consumer does not stop the others from getting the batch.

The observing wrappers count what crosses a boundary, per batch, under the
OpenTelemetry Collector's metric names. Because the graph inserts them, every
component emits the same self-metrics without writing a line for it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Sequence

from collector.component import Consumer
from collector.errors import ConsumeError, PermanentError, RetryableError

if TYPE_CHECKING:
    from collector.pdata import Batch
    from collector.telemetry import ComponentTelemetry


class FanOut:
    mutates_data = False

    def __init__(self, consumers: Sequence[Consumer]) -> None:
        self.consumers = list(consumers)

    async def consume(self, batch: "Batch") -> None:
        errors: list[Exception] = []
        last = len(self.consumers) - 1
        for i, consumer in enumerate(self.consumers):
            # The last mutating consumer may take the original: nobody reads it after.
            given = clone(batch) if consumer.mutates_data and i != last else batch
            try:
                await consumer.consume(given)
            except ConsumeError as exc:
                errors.append(exc)
        if errors:
            # Retryable only if every failure is: a permanent one will fail again anyway.
            if all(isinstance(e, RetryableError) for e in errors):
                raise errors[0]
            raise PermanentError("; ".join(str(e) for e in errors))


def fan_out(consumers: Sequence[Consumer]) -> Consumer:
    """A single consumer needs no fan-out node."""
    return consumers[0] if len(consumers) == 1 else FanOut(consumers)


def clone(batch: "Batch") -> "Batch":
    """A private copy for a consumer that changes what it receives."""
    return copy.deepcopy(batch)


class ObservedReceiver:
    """Counts ``otelcol_receiver_accepted_*`` / ``otelcol_receiver_refused_*`` for one receiver."""

    mutates_data = False

    def __init__(self, next: Consumer, telemetry: "ComponentTelemetry") -> None:
        self.next = next
        self.mutates_data = next.mutates_data
        self._telemetry = telemetry

    async def consume(self, batch: "Batch") -> None:
        try:
            await self.next.consume(batch)
        except ConsumeError:
            self._telemetry.add_items("otelcol_receiver_refused", batch.signal, batch.item_count())
            raise
        self._telemetry.add_items("otelcol_receiver_accepted", batch.signal, batch.item_count())


class ObservedProcessorEdge:
    """Counts items into or out of a processor: ``otelcol_processor_{incoming,outgoing}_items``."""

    def __init__(self, next: Consumer, telemetry: "ComponentTelemetry", direction: str) -> None:
        self.next = next
        self.mutates_data = next.mutates_data
        self._telemetry = telemetry
        self._name = f"otelcol_processor_{direction}_items"

    async def consume(self, batch: "Batch") -> None:
        self._telemetry.add(self._name, batch.item_count(), {"otel.signal": batch.signal.value}, unit="{items}")
        await self.next.consume(batch)


class ObservedExporter:
    """Counts sent and failed items for exporters that do not use the exporter helper."""

    def __init__(self, exporter: Consumer, telemetry: "ComponentTelemetry") -> None:
        self.exporter = exporter
        self.mutates_data = exporter.mutates_data
        self._telemetry = telemetry

    async def consume(self, batch: "Batch") -> None:
        try:
            await self.exporter.consume(batch)
        except ConsumeError:
            self._telemetry.add_items("otelcol_exporter_send_failed", batch.signal, batch.item_count())
            raise
        self._telemetry.add_items("otelcol_exporter_sent", batch.signal, batch.item_count())
