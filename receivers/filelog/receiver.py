"""The ``filelog`` receiver: tails files by polling, losing nothing across rotation and restart.

Each poll matches the globs, identifies every file by its fingerprint (its
first ``fingerprint_size`` bytes) and pairs it with the reader that knew
that fingerprint: a renamed file, a copy left by copytruncate or a gzip of a
rotated file continues at its offset; a new fingerprint is a new file. A
reader whose file no longer matches (deleted, or rotated out of the globs)
reads its open file to the end before it is closed. Readers stay known for
three polls after their file disappears, so a file rotated back into the
globs (app.log.1 -> app.log.1.gz) is recognised. On a reload the readers
pass to the new instance with their open files (``hand_over``), so it reads
on from the accepted offsets, deleted files included, without storage.

Reading goes in cycles: one bounded block from each file, handed on as one
``Logs``; offsets move only when the consumer accepted it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import glob
import gzip
import os
import time
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Mapping

from collector.component import ComponentID, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.pdata import LineChunk, Logs
from receivers.filelog import checkpoint
from receivers.filelog.config import FileLogConfig
from receivers.filelog.container import ContainerLines, resource_from_path
from receivers.filelog.reader import Reader, is_gzip, open_file, read_fingerprint
from receivers.filelog.records import Assembler, Multiline, Records, SingleLine
from receivers.lines import Outcome, Recoder, bad_input, deliver

#: Largest read from one file in one cycle; a cycle reads at most _CYCLE_BYTES over all files.
BLOCK_BYTES = 1 << 20
_CYCLE_BYTES = 4 << 20
_MIN_BLOCK = 64 << 10
#: Polls a reader is remembered after its file disappeared.
_KEEP_LOST_POLLS = 3


@dataclass(slots=True)
class ReadState:
    """What a reload passes on: the poll count (``start_at`` applies to the first poll only) and the
    readers, those of files still matched (with their open files) and those remembered after their file went."""

    polls: int
    reading: list[Reader]
    lost: list[tuple[int, Reader]]


class FileLogReceiver:
    def __init__(self, settings: Settings, config: FileLogConfig, consumer: Consumer | None) -> None:
        self.settings = settings
        self.config = config
        self._consumer = consumer
        self._recoder = Recoder(config.encoding)
        self._readers: list[Reader] = []
        self._lost: list[tuple[int, Reader]] = []
        self._polls = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._checkpoint = ""
        self._saved: list[tuple[bytes, int, bool]] = []
        self._inherited = False

    async def start(self, host: Host) -> None:
        if self._task is not None or self._stopped:
            return
        if self.config.storage is not None:
            self._checkpoint = self._checkpoint_file(host, self.config.storage)
            for p in [] if self._inherited else checkpoint.load(self._checkpoint):
                self._lost.append((0, self._reader(p.path, None, p.fingerprint, p.offset, skipping=p.skipping,
                                                   compressed=is_gzip(p.path, self.config.compression))))
        self._task = asyncio.get_running_loop().create_task(self._run())

    def _checkpoint_file(self, host: Host, storage: str) -> str:
        """The checkpoint's path in the directory ``storage`` (a running storage extension) gives this receiver."""
        extension = host.get_extension(ComponentID.parse(storage)) if host is not None else None
        if extension is None or not hasattr(extension, "directory_for"):
            raise RuntimeError(f"storage: {storage!r} is not a running storage extension "
                               "(configure it under extensions: and list it in service.extensions)")
        return os.path.join(extension.directory_for(self.settings.kind.value, self.settings.id), checkpoint.FILE_NAME)

    async def shutdown(self) -> None:
        await self._stop()
        for reader in self._readers:
            reader.close()

    async def _stop(self) -> None:
        """Stop reading (what was read and not yet accepted stays unread) and checkpoint."""
        self._stopped = True
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
            self._save()

    async def hand_over(self) -> ReadState:
        """Stop as on shutdown, but leave the files open: the successor reads on from the accepted offsets.

        The successor owns the returned readers' open files (a deleted or
        rotated file stays readable through them).
        """
        await self._stop()
        state = ReadState(self._polls, self._readers, self._lost)
        self._readers, self._lost = [], []
        return state

    def take_over(self, state: ReadState) -> None:
        """Seed the readers before start; under this config, from each file's accepted offset."""
        self._polls = state.polls
        self._readers += [self._adopt(r) for r in state.reading]
        self._lost += [(n, self._adopt(r)) for n, r in state.lost]
        self._inherited = True

    def _adopt(self, old: Reader) -> Reader:
        """A reader under this config for the file ``old`` read (a shorter fingerprint still matches)."""
        return self._reader(old.path, old.file, old.fingerprint[:self.config.fingerprint_size], old.offset,
                            compressed=old.compressed, skipping=old.skipping_at_offset)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.poll()
                self._save()
            except Exception:  # a bad file or a full disk must not end tailing
                self.settings.logger.exception("%s: poll failed", self.settings.id)
            try:
                await asyncio.wait_for(self._stopping.wait(), self.config.poll_interval)
            except asyncio.TimeoutError:
                pass

    async def poll(self) -> None:
        """One round: match, identify, read the lost files to their end, then read the matched ones."""
        self._polls += 1
        paths = self._match()
        keep_open = len(paths) <= self.config.max_concurrent_files
        known = self._readers + [r for _, r in self._lost]
        matched: list[Reader] = []
        seen: set[bytes] = set()
        for path in paths:
            reader = self._identify(path, known, seen)
            if reader is not None:
                matched.append(reader)
                if not keep_open:
                    reader.close()
        taken = {id(r) for r in matched}
        lost = [r for r in self._readers if id(r) not in taken]
        await self._read_all(lost, final=True)
        for reader in lost:
            reader.close()
        self._lost = [(n, r) for n, r in self._lost if id(r) not in taken and n > self._polls - _KEEP_LOST_POLLS]
        self._lost += [(self._polls, r) for r in lost]
        self._readers = matched
        step = self.config.max_concurrent_files
        for i in range(0, len(matched), step):
            batch = matched[i:i + step]
            await self._read_all(batch, final=False)
            if not keep_open:
                for reader in batch:
                    reader.close()
            if self._stopping.is_set():
                return

    def _match(self) -> list[str]:
        found: set[str] = set()
        for pattern in self.config.include:
            found.update(glob.glob(pattern, recursive=True))
        excluded = self.config.exclude
        return sorted(p for p in found
                      if os.path.isfile(p) and not any(fnmatch.fnmatch(p, x) for x in excluded))

    def _identify(self, path: str, known: list[Reader], seen: set[bytes]) -> Reader | None:
        compressed = is_gzip(path, self.config.compression)
        try:
            file = open_file(path, compressed)
        except OSError:
            return None  # gone between glob and open
        try:
            fingerprint = read_fingerprint(file, self.config.fingerprint_size)
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            file.close()
            self.settings.logger.warning("%s: cannot read %s: %s", self.settings.id, path, exc)
            bad_input(self.settings, "unreadable_file", 1)
            return None
        if not fingerprint or fingerprint in seen:  # empty, or a copy being made of a file already read
            file.close()
            return None
        seen.add(fingerprint)
        best = None
        for reader in known:
            if fingerprint.startswith(reader.fingerprint) and (
                    best is None or len(reader.fingerprint) > len(best.fingerprint)):
                best = reader
        if best is not None:
            known.remove(best)
            best.attach(path, file, fingerprint, compressed)
            reader = best
        else:
            offset = 0
            if self._polls == 1 and self.config.start_at == "end" and not compressed:
                offset = os.fstat(file.fileno()).st_size
            reader = self._reader(path, file, fingerprint, offset, compressed=compressed)
        self._label(reader)
        return reader

    def _reader(self, path: str, file: BinaryIO | None, fingerprint: bytes, offset: int, *, compressed: bool,
                skipping: bool = False) -> Reader:
        return Reader(path, file, fingerprint, offset, compressed=compressed, max_line_size=self.config.max_log_size,
                      assembler=self._assembler, skipping=skipping)

    def _assembler(self) -> Assembler:
        multiline = self.config.multiline
        if self.config.format == "container":
            if multiline is None:
                return ContainerLines()
            return ContainerLines(multiline.line_start_pattern or multiline.line_end_pattern,
                                  at_start=bool(multiline.line_start_pattern))
        if multiline is not None:
            if multiline.line_start_pattern:
                return Multiline(multiline.line_start_pattern, at_start=True)
            return Multiline(multiline.line_end_pattern, at_start=False)
        return SingleLine()

    def _label(self, reader: Reader) -> None:
        attributes = {}
        if self.config.include_file_name:
            attributes["log.file.name"] = os.path.basename(reader.path)
        if self.config.include_file_path:
            attributes["log.file.path"] = reader.path
        reader.attributes = attributes
        if self.config.format == "container":
            reader.resource = resource_from_path(reader.path)

    async def _read_all(self, readers: list[Reader], *, final: bool) -> None:
        """Reads each file to its current end, one bounded block per file per cycle."""
        active = []
        for reader in readers:
            try:
                reader.reopen()
                active.append(reader)
            except OSError:
                pass
        block = max(_MIN_BLOCK, min(BLOCK_BYTES, _CYCLE_BYTES // max(1, len(active))))
        while active and not self._stopping.is_set():
            chunks: list[LineChunk] = []
            commits: list[tuple[Reader, int]] = []
            done: set[int] = set()
            now_ns = time.time_ns()
            for reader in active:
                try:
                    data = reader.read(block)
                except (OSError, EOFError, zlib.error) as exc:
                    self.settings.logger.warning("%s: reading %s failed: %s", self.settings.id, reader.path, exc)
                    data = b""
                at_end = len(data) < block
                flush = at_end and (final or reader.compressed or
                                    time.monotonic() - reader.last_data >= self.config.force_flush_period)
                for records in self._records(reader, data, flush):
                    attributes = {**reader.attributes, **records.attributes} if records.attributes else reader.attributes
                    chunks.append(LineChunk(records.data, records.count, reader.resource, attributes, now_ns,
                                            records.ends))
                commits.append((reader, reader.reading_offset()))
                if at_end:
                    done.add(id(reader))
            if chunks:
                outcome = Outcome.ACCEPTED
                if self._consumer is not None:
                    outcome = await deliver(self._consumer, Logs(chunks=chunks), self.settings, self._stopping)
                if outcome is Outcome.STOPPED:
                    return  # offsets stay where the accepted data ends; a restart reads the rest again
            for reader, offset in commits:
                reader.commit(offset)
            active = [r for r in active if id(r) not in done]
            await asyncio.sleep(0)  # let listeners and timers run between blocks

    def _records(self, reader: Reader, data: bytes, flush: bool) -> list[Records]:
        records, replaced = reader.records(data, self._recoder, final=flush)
        if replaced:
            bad_input(self.settings, "invalid_encoding", replaced)
        if reader.framer.too_long:
            bad_input(self.settings, "too_long", reader.framer.too_long)
            reader.framer.too_long = 0
        if reader.assembler.bad:
            bad_input(self.settings, "invalid_container_line", reader.assembler.bad)
            reader.assembler.bad = 0
        return records

    def positions(self) -> list[checkpoint.Position]:
        """What a checkpoint holds now: every reader the next poll could match."""
        readers = self._readers + [r for _, r in self._lost]
        return [checkpoint.Position(r.fingerprint, r.offset, r.skipping_at_offset, r.path) for r in readers]

    def _save(self) -> None:
        if not self._checkpoint:
            return
        positions = self.positions()
        state = [(p.fingerprint, p.offset, p.skipping) for p in positions]
        if state != self._saved:
            checkpoint.save(self._checkpoint, positions)
            self._saved = state


def create(settings: Settings, config: FileLogConfig, consumers: Mapping[Signal, Consumer]) -> FileLogReceiver:
    return FileLogReceiver(settings, config, consumers.get(Signal.LOGS))


factory = Factory(
    type="filelog",
    kind=Kind.RECEIVER,
    config=FileLogConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA},
    description="Tails log files (plain, gzip, container runtime logs) with checkpoints across restarts.",
)
