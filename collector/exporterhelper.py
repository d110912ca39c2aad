"""Queueing, retry, timeout and self-metrics around an exporter's push function.

An exporter author writes only a :class:`PushExporter`: ``push(batch)`` sends
one batch once and raises a typed error from :mod:`collector.errors` when it
fails. :class:`QueuedExporter` wraps it with what the OpenTelemetry
Collector's exporterhelper gives every exporter: a bounded sending queue
drained by N consumers, retry with exponential backoff and jitter that
honours a peer's throttle delay, a per-attempt timeout, and the
``otelcol_exporter_*`` counters. Each exporter owns its queue, so a slow or
dead backend never slows the others.
"""

from __future__ import annotations

import asyncio
import random
import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from pydantic import Field

from collector.component import ComponentConfig, ComponentID, Host, Settings
from collector.configtypes import Duration
from collector.errors import PermanentError, RefusedError, RetryableError
from collector.pdata import Logs, Metrics, codec
from collector.queues import DiskQueue, MemoryQueue, WhenFull

if TYPE_CHECKING:
    from collector.pdata import Batch


#: The memory queue's default bound in MiB. A full queue of 500 KB OTLP
#: requests peaked a passthrough at 159-171 MB with 64 MiB: 71 MB of idle
#: process, the queue, and 25-35 MB outside its count (bodies of receivers
#: blocked on it, bodies being sent). 40 MiB keeps the process under 150 MB.
MEMORY_QUEUE_MIB = 40
#: The memory a metric point in model form holds: 625 bytes measured for
#: points with 4 attributes (their OTLP encoding is about 146 bytes).
METRIC_POINT_BYTES = 640
#: The memory a decoded OTLP message holds per byte of its encoding: 2.6
#: measured for 1,000-record logs requests.
MESSAGE_MEMORY_FACTOR = 2.6


def queued_size(item: "Batch | bytes") -> int:
    """A cheap estimate of the memory a queued batch holds, from the form it is in.

    Received OTLP bytes and line data count as their length, a decoded OTLP
    message as ``MESSAGE_MEMORY_FACTOR`` times its encoded size, metrics in
    model form as ``METRIC_POINT_BYTES`` a point.
    """
    if isinstance(item, bytes):
        return len(item)
    if item.otlp_bytes is not None:
        return len(item.otlp_bytes)
    if isinstance(item, Metrics):
        return item.item_count() * METRIC_POINT_BYTES
    if isinstance(item, Logs) and item.chunks is not None:
        return sum(len(chunk.data) for chunk in item.chunks)
    return int(item.request.ByteSize() * MESSAGE_MEMORY_FACTOR)


class QueueConfig(ComponentConfig):
    enabled: bool = Field(True, description="Queue batches and send them from background consumers.")
    num_consumers: int = Field(10, ge=1, description="How many batches are sent concurrently.")
    queue_size: int = Field(1000, ge=1, description="How many batches the queue holds before it refuses more.")
    blocking: bool = Field(
        False, description="When the queue is full, make the caller wait instead of dropping the batch."
    )
    when_full: WhenFull = Field(
        WhenFull.DROP_NEWEST,
        description="Without blocking, what a full queue does: drop_newest drops the new batch (a persistent "
                    "queue refuses it instead, with a retryable error, so nothing accepted is lost); "
                    "drop_oldest drops the oldest queued batch to make room; refuse answers the sender with a "
                    "retryable error (HTTP 503, gRPC UNAVAILABLE at the receiver), so it sends again later.",
    )
    storage: str | None = Field(
        None, description="A storage extension (such as file_storage) that persists the queue across restarts."
    )
    max_size_mib: int | None = Field(
        None, ge=0,
        description="The most the queue may hold, in MiB, besides queue_size; a full queue acts as when_full "
                    "and blocking say. In memory (default %d) it bounds an estimate of the memory batches hold, "
                    "batches being sent included: received OTLP bytes count as their length, a decoded OTLP "
                    "message as %g times its encoded size, metrics in model form as %d bytes a point. With "
                    "storage (default 0) it bounds the disk used. 0 is no bound."
                    % (MEMORY_QUEUE_MIB, MESSAGE_MEMORY_FACTOR, METRIC_POINT_BYTES),
    )

    def size_bytes(self, persistent: bool) -> int:
        """``max_size_mib`` in bytes, its default depending on where the queue lives."""
        mib = self.max_size_mib if self.max_size_mib is not None else 0 if persistent else MEMORY_QUEUE_MIB
        return mib << 20


class RetryConfig(ComponentConfig):
    enabled: bool = Field(True, description="Retry batches that failed with a retryable error.")
    initial_interval: Duration = Field(5.0, description="Wait after the first failure.")
    randomization_factor: float = Field(0.5, ge=0, le=1, description="Jitter: each wait varies by up to this fraction.")
    multiplier: float = Field(1.5, ge=1, description="Each wait is this many times the previous one.")
    max_interval: Duration = Field(30.0, description="Upper bound of one wait.")
    max_elapsed_time: Duration = Field(
        300.0, description="Give up on a batch after this long; 0 retries forever."
    )


class ExporterConfig(ComponentConfig):
    """Settings every exporter gets: subclass it for an exporter's own config."""

    timeout: Duration = Field(5.0, description="Time limit of one send attempt.")
    sending_queue: QueueConfig = Field(default_factory=QueueConfig, description="The sending queue.")
    retry_on_failure: RetryConfig = Field(default_factory=RetryConfig, description="Retry on retryable failures.")


class PushExporter(ABC):
    """What an exporter implements: send one batch, once."""

    async def start(self, host: Host) -> None:
        """Open connections; a wrong endpoint should fail here, clearly."""

    async def shutdown(self) -> None:
        """Close connections. Called once, after the queue has drained."""

    @abstractmethod
    async def push(self, batch: "Batch") -> None:
        """Send ``batch``; raise PermanentError or RetryableError on failure.

        The batch is shared with other exporters: read it, never change it.
        """


class QueuedExporter:
    """The exporter the pipeline graph sees: queue and retry around a push function."""

    mutates_data = False
    #: the graph need not wrap it: it counts sent and failed items itself.
    counts_itself = True

    def __init__(self, settings: Settings, config: ExporterConfig, pusher: PushExporter) -> None:
        self.settings = settings
        self.config = config
        self.pusher = pusher
        self._log = settings.logger
        self._telemetry = settings.telemetry
        self._queue: MemoryQueue[Batch] | DiskQueue | None = None
        self._inherited: list[Batch] = []  # batches handed over by the instance this one replaces
        self._workers: list[asyncio.Task[None]] = []
        self._started = False
        self._stopped = False
        qc = config.sending_queue
        if qc.enabled:
            settings.telemetry.observe(
                "otelcol_exporter_queue_size",
                lambda: [(self._queue.qsize() if self._queue else 0, {})],
                unit="{batches}",
                description="Current size of the retry queue (in batches)",
            )
            settings.telemetry.observe(
                "otelcol_exporter_queue_capacity",
                lambda: [(qc.queue_size, {})],
                unit="{batches}",
                description="Fixed capacity of the retry queue (in batches)",
            )

    async def start(self, host: Host) -> None:
        if self._started or self._stopped:
            return
        qc = self.config.sending_queue
        if qc.enabled:
            if qc.storage:
                self._queue = self._open_queue(host)
            else:
                self._queue = MemoryQueue(qc.queue_size, qc.when_full, max_bytes=qc.size_bytes(False),
                                          size_of=queued_size)
        await self.pusher.start(host)
        self._started = True
        inherited, self._inherited = self._inherited, []
        for batch in inherited:
            await self.consume(batch)
        if self._queue is not None:
            self._workers = [
                asyncio.create_task(self._drain(), name=f"{self.settings.id}-sender-{i}")
                for i in range(qc.num_consumers)
            ]

    def _open_queue(self, host: Host) -> DiskQueue:
        qc = self.config.sending_queue
        assert qc.storage is not None
        storage = host.get_extension(ComponentID.parse(qc.storage))
        if storage is None or not hasattr(storage, "queue_options"):
            raise RuntimeError(f"sending_queue.storage: {qc.storage!r} is not a running storage extension "
                               "(configure it under extensions: and list it in service.extensions)")
        queue = DiskQueue(capacity=qc.queue_size, max_bytes=qc.size_bytes(True), when_full=qc.when_full,
                          **storage.queue_options(self.settings.kind.value, self.settings.id))
        report = queue.open()
        if report.recovered or report.torn_bytes:
            self._log.warning("persistent queue recovered %d batches to send; cut %d bytes of torn records",
                              report.recovered, report.torn_bytes, extra={"notes": report.notes})
        return queue

    async def consume(self, batch: "Batch") -> None:
        """Accept a batch. With the queue on, never waits on the backend."""
        if self._queue is None:
            if self._stopped or not self._started:
                raise RetryableError(f"exporter {self.settings.id} is not running")
            await self._send(batch)
            return
        persistent = isinstance(self._queue, DiskQueue)
        item: Any = codec.encode(batch) if persistent else batch
        try:
            accepted, dropped = self._queue.offer(item)
        except OSError as exc:  # the disk refused the write; the queue is left intact
            self._telemetry.add_items("otelcol_exporter_enqueue_failed", batch.signal, batch.item_count())
            self._log.error("cannot persist a batch of %d items: %s", batch.item_count(), exc)
            raise RefusedError(f"exporter {self.settings.id} cannot persist its queue: {exc.strerror}",
                               retry_after=1.0) from exc
        if dropped is not None:
            old = codec.decode(dropped) if isinstance(dropped, bytes) else dropped
            self._telemetry.add_items("otelcol_exporter_enqueue_failed", old.signal, old.item_count())
            self._log.warning("sending queue is full; dropped the oldest batch of %d items", old.item_count())
        if accepted:
            return
        if self.config.sending_queue.blocking:
            await self._queue.put(item)
            return
        self._telemetry.add_items("otelcol_exporter_enqueue_failed", batch.signal, batch.item_count())
        if persistent or self.config.sending_queue.when_full is WhenFull.REFUSE:
            # A persistent queue is there so that nothing accepted is lost: refuse, and the
            # sender retries, rather than answer success for data that is dropped.
            self._log.warning("sending queue is full; refused a batch of %d items", batch.item_count())
            raise RefusedError(f"exporter {self.settings.id}'s sending queue is full", retry_after=1.0)
        self._log.warning("sending queue is full; dropped a batch of %d items", batch.item_count())

    async def _drain(self) -> None:
        assert self._queue is not None
        while True:
            token, item = await self._queue.get()
            try:
                batch = codec.decode(item) if isinstance(item, bytes) else item
            except codec.CodecError as exc:
                self._log.error("dropped an unreadable queued batch: %s", exc)
                self._queue.done(token)
                continue
            # Cancelled mid-send (shutdown cut short): not done, so a disk queue sends it again.
            await self._send(batch)
            try:
                self._queue.done(token)
            except Exception:  # a sender must outlive a bookkeeping failure; the batch may come again
                self._log.exception("could not mark a sent batch done")

    async def _send(self, batch: "Batch") -> None:
        """Push with retries; count the outcome. Raises only when there is no queue."""
        retry = self.config.retry_on_failure
        signal, count = batch.signal, batch.item_count()
        deadline = time.monotonic() + retry.max_elapsed_time if retry.max_elapsed_time else None
        interval = retry.initial_interval
        while True:
            try:
                await asyncio.wait_for(self.pusher.push(batch), self.config.timeout or None)
            except PermanentError as exc:
                return self._failed(batch, f"permanent error: {exc}", exc)
            except asyncio.CancelledError:
                if self._queue is None:
                    self._telemetry.add_items("otelcol_exporter_send_failed", signal, count)
                raise  # a queued batch is still the queue's: counted or handed over there
            except Exception as exc:  # retryable, a timeout, or a bug in the exporter
                if isinstance(exc, TimeoutError):
                    reason = f"timed out after {self.config.timeout:g}s"
                elif isinstance(exc, RetryableError):
                    reason = str(exc)
                else:
                    reason = f"{type(exc).__name__}: {exc}"
                if not retry.enabled:
                    return self._failed(batch, f"{reason} (retry disabled)", exc)
                delay = getattr(exc, "retry_after", None)
                if delay is None:
                    jitter = retry.randomization_factor * interval
                    delay = interval + random.uniform(-jitter, jitter)
                    interval = min(interval * retry.multiplier, retry.max_interval)
                if deadline is not None and time.monotonic() + delay > deadline:
                    return self._failed(batch, f"{reason}; no more retries after {retry.max_elapsed_time:g}s", exc)
                self._log.warning("send failed, retrying in %.2fs: %s", delay, reason)
                await asyncio.sleep(delay)
            else:
                self._telemetry.add_items("otelcol_exporter_sent", signal, count)
                return None

    def _failed(self, batch: "Batch", reason: str, exc: Exception) -> None:
        self._telemetry.add_items("otelcol_exporter_send_failed", batch.signal, batch.item_count())
        self._log.error("dropped a batch of %d items: %s", batch.item_count(), reason,
                        extra={"exporter": str(self.settings.id)})
        if self._queue is None:
            raise exc if isinstance(exc, (PermanentError, RetryableError)) else RetryableError(reason)

    async def hand_over(self) -> list["Batch"]:
        """Stop without draining; return the batches held in memory for a successor.

        A disk queue needs no handing over: the successor reopens the same
        files and finds everything that was not done, in-flight batches too.
        """
        if self._stopped or not self._started:
            self._stopped = True
            return self._inherited
        self._stopped = True
        return await self._stop()

    def take_over(self, state: list["Batch"]) -> None:
        """Queue what the replaced instance held; sent once this one starts."""
        self._inherited.extend(state)

    async def shutdown(self) -> None:
        """Drain the queue, then close. The service bounds this with its deadline:
        when cancelled, what is still queued in memory is counted as failed,
        and what is queued on disk stays there for the next start."""
        if self._stopped:
            return
        self._stopped = True
        if not self._started:
            return
        try:
            if self._queue is not None:
                await self._queue.join()
        finally:
            for left in await self._stop():
                self._telemetry.add_items("otelcol_exporter_send_failed", left.signal, left.item_count())

    async def _stop(self) -> list["Batch"]:
        """Cancel the senders, close the queue and the pusher; return what memory still held."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        held: list[Batch] = []
        if self._queue is not None:
            held = self._queue.leftovers()
            await self._queue.close()
        await self.pusher.shutdown()
        return held
