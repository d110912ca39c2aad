"""Sending queues: bounded, in memory or persisted on disk, with the same interface.

The exporter helper takes an item with ``get``, sends it, and calls ``done``;
an item is removed for good only then. In memory that is bookkeeping; on
disk it is what makes delivery at-least-once: an item taken but not done
when the process dies is sent again after restart.

The disk queue keeps append-only segment files of checksummed records and
an append-only log of acknowledged sequence numbers. Recovery reads every
segment up to its first torn or corrupt record (cutting the file there and
keeping every intact record before it), drops what the ack log says was
done, and deletes segments whose records are all done.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import itertools
import logging
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from collector.periodic import Periodic

T = TypeVar("T")

_RECORD = struct.Struct("<IIQ")  # payload length, crc32 of seq+payload, seq
_ACK = struct.Struct("<QI")  # seq, crc32 of seq
_SEQ = struct.Struct("<Q")


class WhenFull(str, enum.Enum):
    DROP_NEWEST = "drop_newest"
    DROP_OLDEST = "drop_oldest"
    REFUSE = "refuse"  # like drop_newest for the queue; the exporter refuses the batch to its sender


class Fsync(str, enum.Enum):
    ALWAYS = "always"  # before an append or ack returns: survives power loss
    INTERVAL = "interval"  # every fsync_interval: survives a process kill, loses at most that much on power loss
    NEVER = "never"  # leave it to the kernel


class MemoryQueue(Generic[T]):
    """Items held in memory, bounded by count and, when ``max_bytes`` is set, by size.

    ``size_of`` gives an item's size; the byte bound covers items queued and
    items taken but not yet done (both are held in memory), so a slow backend
    cannot make the process grow past it. An item larger than the whole bound
    is still accepted when nothing else is held, or it could never be sent.
    """

    def __init__(self, capacity: int, when_full: WhenFull = WhenFull.DROP_NEWEST, *, max_bytes: int = 0,
                 size_of: Callable[[T], int] = lambda item: 0) -> None:
        self.capacity = capacity
        self.when_full = when_full
        self.max_bytes = max_bytes
        self.size_of = size_of
        self._queue: collections.deque[tuple[T, int]] = collections.deque()
        self._in_flight: dict[int, tuple[T, int]] = {}
        self._bytes = 0  # queued and in flight
        self._tokens = itertools.count()
        self._has_items = asyncio.Event()
        self._has_room = asyncio.Event()
        self._all_done = asyncio.Event()
        self._signal()

    def qsize(self) -> int:
        return len(self._queue)

    def size_bytes(self) -> int:
        """Bytes held: queued and in flight."""
        return self._bytes

    def _full(self, size: int) -> bool:
        if len(self._queue) >= self.capacity:
            return True
        return bool(self.max_bytes) and self._bytes > 0 and self._bytes + size > self.max_bytes

    def offer(self, item: T) -> tuple[bool, T | None]:
        """Add without waiting: (accepted, item dropped to make room or None)."""
        size = self.size_of(item)
        dropped = None
        if self._full(size):
            if self.when_full is not WhenFull.DROP_OLDEST or not self._queue:
                return False, None
            dropped, dropped_size = self._queue.popleft()
            self._bytes -= dropped_size
            if self._full(size):
                self._signal()
                return False, dropped
        self._append(item, size)
        return True, dropped

    async def put(self, item: T) -> None:
        size = self.size_of(item)
        while self._full(size):
            self._has_room.clear()
            await self._has_room.wait()
        self._append(item, size)

    def _append(self, item: T, size: int) -> None:
        self._queue.append((item, size))
        self._bytes += size
        self._signal()

    async def get(self) -> tuple[int, T]:
        while not self._queue:
            self._has_items.clear()
            await self._has_items.wait()
        entry = self._queue.popleft()
        token = next(self._tokens)
        self._in_flight[token] = entry
        self._signal()
        return token, entry[0]

    def done(self, token: int) -> None:
        self._bytes -= self._in_flight.pop(token)[1]
        self._signal()

    def _signal(self) -> None:
        if self._queue:
            self._has_items.set()
        if not self._full(0):
            self._has_room.set()
        if self._queue or self._in_flight:
            self._all_done.clear()
        else:
            self._all_done.set()

    async def join(self) -> None:
        await self._all_done.wait()

    def leftovers(self) -> list[T]:
        """What was taken but not done, then what was never taken; the queue is unusable afterwards."""
        out = [item for item, _ in self._in_flight.values()]
        out.extend(item for item, _ in self._queue)
        self._in_flight.clear()
        self._queue.clear()
        self._bytes = 0
        return out

    async def close(self) -> None:
        pass


@dataclass
class _Segment:
    first_seq: int
    path: Path
    fd: int
    size: int = 0
    live: int = 0  # records not yet done
    dirty: bool = False


@dataclass
class RecoveryReport:
    recovered: int = 0  # records to be sent again
    torn_bytes: int = 0  # cut from segment tails: a write the process did not finish, or corruption
    segments_removed: int = 0
    notes: list[str] = field(default_factory=list)


class DiskQueue:
    """Items are bytes; ``capacity`` counts items, ``max_bytes`` bounds the disk used."""

    def __init__(self, directory: Path, capacity: int, *, max_bytes: int = 0, segment_bytes: int = 16 << 20,
                 fsync: Fsync = Fsync.INTERVAL, fsync_interval: float = 1.0,
                 when_full: WhenFull = WhenFull.DROP_NEWEST) -> None:
        self.directory = directory
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.fsync_interval = fsync_interval
        self.when_full = when_full
        self._segments: collections.OrderedDict[int, _Segment] = collections.OrderedDict()
        self._pending: collections.deque[tuple[int, _Segment, int, int]] = collections.deque()
        self._in_flight: dict[int, _Segment] = {}
        self._acked: set[int] = set()
        self._next_seq = 0
        self._ack_fd = -1
        self._ack_size = 0  # bytes of whole ack records: a failed append is cut back to this
        self._ack_dirty = False
        self._has_items = asyncio.Event()
        self._has_room = asyncio.Event()
        self._all_done = asyncio.Event()
        self._syncer = Periodic(fsync_interval, lambda: asyncio.to_thread(self.sync), name=f"fsync {directory}",
                                logger=logging.getLogger("fathom.queue"))

    # -- opening and recovery ---------------------------------------------

    def open(self) -> RecoveryReport:
        self.directory.mkdir(parents=True, exist_ok=True)
        report = RecoveryReport()
        acked = self._read_acks(report)
        for path in sorted(self.directory.glob("*.seg")):
            segment = _Segment(int(path.stem), path, os.open(path, os.O_RDWR | os.O_APPEND))
            self._segments[segment.first_seq] = segment
            self._recover_segment(segment, acked, report)
        for segment in list(self._segments.values()):
            if segment.live == 0:
                self._remove(segment)
                report.segments_removed += 1
        self._acked = {seq for seq in acked if any(s.first_seq <= seq for s in self._segments.values())}
        self._rewrite_acks()
        report.recovered = len(self._pending)
        self._signal()
        if self.fsync is Fsync.INTERVAL:
            self._syncer.start()
        return report

    def _read_acks(self, report: RecoveryReport) -> set[int]:
        path = self.directory / "acks.log"
        acked: set[int] = set()
        if path.exists():
            data = path.read_bytes()
            usable = len(data) - len(data) % _ACK.size
            for pos in range(0, usable, _ACK.size):
                seq, crc = _ACK.unpack_from(data, pos)
                if zlib.crc32(_SEQ.pack(seq)) == crc:
                    acked.add(seq)
            if usable != len(data):
                report.notes.append(f"cut a torn ack record of {len(data) - usable} bytes")
        return acked

    def _recover_segment(self, segment: _Segment, acked: set[int], report: RecoveryReport) -> None:
        data = os.pread(segment.fd, os.fstat(segment.fd).st_size, 0)
        pos = 0
        while pos + _RECORD.size <= len(data):
            length, crc, seq = _RECORD.unpack_from(data, pos)
            end = pos + _RECORD.size + length
            if end > len(data) or zlib.crc32(memoryview(data)[pos + 8:end]) != crc:  # seq and payload
                break
            if seq not in acked:
                self._pending.append((seq, segment, pos + _RECORD.size, length))
                segment.live += 1
            self._next_seq = max(self._next_seq, seq + 1)
            pos = end
        if pos != len(data):
            report.torn_bytes += len(data) - pos
            report.notes.append(f"{segment.path.name}: cut {len(data) - pos} bytes of torn or corrupt records")
            os.ftruncate(segment.fd, pos)
        segment.size = pos

    # -- the queue interface ---------------------------------------------------

    def qsize(self) -> int:
        return len(self._pending)

    def _outstanding(self) -> int:
        return len(self._pending) + len(self._in_flight)

    def _full(self, size: int) -> bool:
        if self._outstanding() >= self.capacity:
            return True
        used = sum(s.size for s in self._segments.values())
        return bool(self.max_bytes) and used + size + _RECORD.size > self.max_bytes

    def offer(self, item: bytes) -> tuple[bool, bytes | None]:
        """Append without waiting: (accepted, oldest item dropped to make room or None).

        Raises ``OSError`` when the disk refuses the write; nothing is
        half-written then.
        """
        dropped = None
        if self._full(len(item)):
            if self.when_full is not WhenFull.DROP_OLDEST or not self._pending:
                return False, None
            seq, segment, offset, length = self._pending.popleft()
            dropped = os.pread(segment.fd, length, offset)
            self._finish(seq, segment)
            if self._full(len(item)):
                return False, dropped
        self._append(item)
        return True, dropped

    async def put(self, item: bytes) -> None:
        while self._full(len(item)):
            self._has_room.clear()
            await self._has_room.wait()
        self._append(item)

    def _append(self, item: bytes) -> None:
        try:
            self._write(item)
        except OSError:
            # The disk is full. The active segment is kept for appends even when all its
            # records are done (and a failed rollover leaves an empty one): free those and
            # try once more, or a drained queue would refuse data for good.
            drained = [segment for segment in self._segments.values() if segment.live == 0]
            if not drained:
                raise
            for segment in drained:
                self._remove(segment)
            self._prune_acks()
            self._write(item)

    def _write(self, item: bytes) -> None:
        segment = next(reversed(self._segments.values()), None)
        if segment is None or segment.size + len(item) > self.segment_bytes and segment.size:
            path = self.directory / f"{self._next_seq:020d}.seg"
            segment = _Segment(self._next_seq, path, os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600))
            self._segments[segment.first_seq] = segment
        seq = self._next_seq
        crc = zlib.crc32(item, zlib.crc32(_SEQ.pack(seq)))
        record = _RECORD.pack(len(item), crc, seq) + item
        try:
            written = os.write(segment.fd, record)
            if written != len(record):
                raise OSError(28, "short write")
            if self.fsync is Fsync.ALWAYS:
                os.fsync(segment.fd)
        except OSError:
            os.ftruncate(segment.fd, segment.size)  # no torn record in the middle of the file
            raise
        self._pending.append((seq, segment, segment.size + _RECORD.size, len(item)))
        segment.size += len(record)
        segment.live += 1
        segment.dirty = True
        self._next_seq += 1
        self._signal()

    async def get(self) -> tuple[int, bytes]:
        while not self._pending:
            self._has_items.clear()
            await self._has_items.wait()
        seq, segment, offset, length = self._pending.popleft()
        self._in_flight[seq] = segment
        return seq, os.pread(segment.fd, length, offset)

    def done(self, seq: int) -> None:
        """The item was sent, or given up on: never deliver it again."""
        self._finish(seq, self._in_flight.pop(seq))

    def _finish(self, seq: int, segment: _Segment) -> None:
        self._write_ack(seq)
        segment.live -= 1
        active = next(reversed(self._segments.values()))
        if segment.live == 0 and segment is not active:
            self._remove(segment)
            self._prune_acks()
        self._signal()

    def _prune_acks(self) -> None:
        """Forget the acks of records in segments already deleted."""
        self._acked = {s for s in self._acked if s >= self._first_live_seq()}
        self._rewrite_acks()

    def _first_live_seq(self) -> int:
        return next(iter(self._segments)) if self._segments else self._next_seq

    def _write_ack(self, seq: int) -> None:
        self._acked.add(seq)
        record = _ACK.pack(seq, zlib.crc32(_SEQ.pack(seq)))
        try:
            if os.write(self._ack_fd, record) != len(record):
                raise OSError(28, "short write")
        except OSError:
            # A full disk must not stop the senders: the ack stays in memory and reaches
            # the disk with the next rewrite; if the process dies first, the item is sent again.
            os.ftruncate(self._ack_fd, self._ack_size)
            return
        self._ack_size += len(record)
        self._ack_dirty = True
        if self.fsync is Fsync.ALWAYS:
            os.fsync(self._ack_fd)

    def _rewrite_acks(self) -> None:
        """Keep only acks of records still on disk, replacing the log atomically."""
        tmp = self.directory / "acks.log.tmp"
        data = b"".join(_ACK.pack(s, zlib.crc32(_SEQ.pack(s))) for s in sorted(self._acked))
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / "acks.log")
        if self._ack_fd >= 0:
            os.close(self._ack_fd)
        self._ack_fd = os.open(self.directory / "acks.log", os.O_WRONLY | os.O_APPEND)
        self._ack_size = len(data)

    def _remove(self, segment: _Segment) -> None:
        del self._segments[segment.first_seq]
        os.close(segment.fd)
        segment.path.unlink(missing_ok=True)

    def _signal(self) -> None:
        if self._pending:
            self._has_items.set()
        if not self._full(0):
            self._has_room.set()
        if self._outstanding() == 0:
            self._all_done.set()
        else:
            self._all_done.clear()

    async def join(self) -> None:
        await self._all_done.wait()

    def leftovers(self) -> list[bytes]:
        """Nothing is left over: what was not sent stays on disk for the next start."""
        return []

    def sync(self) -> None:
        for segment in self._segments.values():
            if segment.dirty:
                os.fsync(segment.fd)
                segment.dirty = False
        if self._ack_dirty and self._ack_fd >= 0:
            os.fsync(self._ack_fd)
            self._ack_dirty = False

    async def _sync_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.fsync_interval)
            await asyncio.to_thread(self.sync)

    async def close(self) -> None:
        await self._syncer.stop()
        if self.fsync is not Fsync.NEVER:
            self.sync()
        for segment in self._segments.values():
            os.close(segment.fd)
        self._segments.clear()
        if self._ack_fd >= 0:
            os.close(self._ack_fd)
            self._ack_fd = -1
