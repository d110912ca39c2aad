"""Where socket sources put their lines: grouped, bounded, and handed on one batch per cycle.

Many connections (or datagrams) feed one intake. Records with the same
attributes are joined into one buffer, so a flood of small datagrams becomes
a few large :class:`LineChunk` s, and the consumer sees one ``Logs`` per
event-loop cycle however many sources wrote in it. When the pending bytes
reach ``max_pending_bytes`` the intake is full: TCP sources pause reading
(backpressure), UDP datagrams are dropped and counted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Hashable, Iterable, Mapping

from collector.component import Consumer, Settings, Signal
from collector.pdata import LineChunk, Logs
from receivers.lines.delivery import Outcome, bad_input, deliver
from receivers.lines.encoding import Recoder
from receivers.lines.framing import Lines

#: Splits recoded lines by attributes: yields ``(key, attributes, data, count)``.
Router = Callable[[bytes, int], Iterable[tuple[Hashable, Mapping[str, Any], bytes, int]]]


def _single(data: bytes, count: int) -> Iterable[tuple[Hashable, Mapping[str, Any], bytes, int]]:
    return ((None, {}, data, count),)


class _Group:
    __slots__ = ("attributes", "parts", "count")

    def __init__(self, attributes: Mapping[str, Any]) -> None:
        self.attributes = attributes
        self.parts: list[bytes] = []
        self.count = 0


class LineIntake:
    def __init__(self, settings: Settings, consumer: Consumer | None, *, encoding: str = "utf-8",
                 router: Router = _single, max_pending_bytes: int = 8 << 20) -> None:
        self.settings = settings
        self._consumer = consumer
        self._recoder = Recoder(encoding)
        self._router = router
        self._max = max_pending_bytes
        self._groups: dict[Hashable, _Group] = {}
        self._bytes = 0
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._paused: set[asyncio.BaseTransport] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def full(self) -> bool:
        return self._bytes >= self._max

    def put(self, lines: Lines) -> bool:
        """Queues complete records; False (and counted as refused) once stopped.

        It does not refuse when full: a TCP source pauses after the read that
        filled it, so the overshoot is one read per connection; a UDP source
        checks :attr:`full` first and drops the datagram.
        """
        if self._stopping.is_set():
            self.settings.telemetry.add_items("otelcol_receiver_refused", Signal.LOGS, lines.count)
            return False
        data, bad = self._recoder.recode(lines.data)
        if bad:
            bad_input(self.settings, "invalid_encoding", bad)
        for key, attributes, part, count in self._router(data, lines.count):
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(attributes)
            group.parts.append(part)
            group.count += count
        self._bytes += len(data)
        self._ready.set()
        return True

    def pause(self, transport: asyncio.BaseTransport) -> None:
        """Stops reading ``transport`` until the pending batch is handed on."""
        if transport not in self._paused and not transport.is_closing():
            transport.pause_reading()  # type: ignore[attr-defined]
            self._paused.add(transport)

    def paused(self, transport: asyncio.BaseTransport) -> bool:
        """Whether reading ``transport`` waits on this intake (its silence is ours, not the peer's)."""
        return transport in self._paused

    def forget(self, transport: asyncio.BaseTransport) -> None:
        self._paused.discard(transport)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Hands on what is pending (one try), then stops; call after the sources stopped."""
        self._stopping.set()
        self._ready.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            logs = self._take()
            if logs is not None:
                if self._consumer is None:
                    outcome = Outcome.DROPPED
                else:
                    outcome = await deliver(self._consumer, logs, self.settings, self._stopping)
                if outcome is Outcome.STOPPED:
                    self.settings.telemetry.add_items("otelcol_receiver_refused", Signal.LOGS, logs.item_count())
            self._resume()
            if self._stopping.is_set() and not self._groups:
                return

    def _take(self) -> Logs | None:
        if not self._groups:
            return None
        now = time.time_ns()
        chunks = [
            LineChunk(b"\n".join(g.parts) if len(g.parts) > 1 else g.parts[0], g.count,
                      attributes=g.attributes, observed_time_ns=now)
            for g in self._groups.values()
        ]
        self._groups = {}
        self._bytes = 0
        return Logs(chunks=chunks)

    def _resume(self) -> None:
        paused, self._paused = self._paused, set()
        for transport in paused:
            if not transport.is_closing():
                transport.resume_reading()  # type: ignore[attr-defined]
