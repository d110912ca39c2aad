"""One log file being read: identity by fingerprint, a read head, and the accepted offset.

``offset`` moves only when the records read up to it were accepted
downstream, so a refusal or a stop never moves it past lost data; it is what
checkpoints store. ``pos`` is where the next read starts.
"""

from __future__ import annotations

import gzip
import os
import time
from typing import Any, BinaryIO, Callable

from receivers.filelog.records import Assembler, Records
from receivers.lines import LineFramer, Recoder


def is_gzip(path: str, compression: str) -> bool:
    return compression == "gzip" or (compression == "auto" and path.endswith(".gz"))


def open_file(path: str, compressed: bool) -> BinaryIO:
    """Raises OSError when the file cannot be opened."""
    if compressed:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb", buffering=0)


def read_fingerprint(f: BinaryIO, size: int) -> bytes:
    """The first ``size`` bytes (decompressed for gzip, so a compressed rotation keeps its identity)."""
    f.seek(0)
    parts, need = [], size
    while need:
        data = f.read(need)
        if not data:
            break
        parts.append(data)
        need -= len(data)
    return b"".join(parts)


class Reader:
    def __init__(self, path: str, file: BinaryIO | None, fingerprint: bytes, offset: int, *, compressed: bool,
                 max_line_size: int, assembler: Callable[[], Assembler], skipping: bool = False) -> None:
        self.path = path
        self.file = file
        self.fingerprint = fingerprint
        self.offset = offset
        self.pos = offset
        self.compressed = compressed
        self._new_assembler = assembler
        self.framer = LineFramer(max_line_size)
        self.framer.skipping = skipping
        self.assembler = assembler()
        self.skipping_at_offset = skipping
        self.last_data = time.monotonic()
        self.attributes: dict[str, Any] = {}
        self.resource: dict[str, Any] = {}
        if file is not None:
            file.seek(offset)

    def attach(self, path: str, file: BinaryIO, fingerprint: bytes, compressed: bool) -> None:
        """Continue from ``offset`` in ``file`` (the same file renamed, or a copy of it)."""
        self.path = path
        self.fingerprint = fingerprint
        if self.file is not None and not compressed and not self.compressed and _same_file(self.file, file):
            file.close()
            if os.fstat(self.file.fileno()).st_size >= self.pos:
                return  # the same file, grown or renamed: read on
        else:
            self.close()
            self.file = file
            self.compressed = compressed
        assert self.file is not None
        if not self.compressed and os.fstat(self.file.fileno()).st_size < self.offset:
            self.offset = 0  # truncated in place and rewritten with the same first bytes
        self._rewind()

    def reopen(self) -> None:
        """Opens the file again by path (it was closed between polls); OSError if it is gone."""
        if self.file is None:
            self.file = open_file(self.path, self.compressed)
            self._rewind()

    def _rewind(self) -> None:
        """Back to the accepted offset: whatever was read past it is read again."""
        assert self.file is not None
        self.file.seek(self.offset)
        self.pos = self.offset
        self.framer = LineFramer(self.framer.max_line_size)
        self.framer.skipping = self.skipping_at_offset
        self.assembler = self._new_assembler()

    def read(self, size: int) -> bytes:
        assert self.file is not None
        data = self.file.read(size)
        if data:
            self.pos += len(data)
            self.last_data = time.monotonic()
        return data or b""

    def records(self, data: bytes, recoder: Recoder, *, final: bool) -> tuple[list[Records], int]:
        """Records that ``data`` completes (all held ones too when ``final``), recoded; and bytes replaced."""
        lines = self.framer.feed(data) if data else None
        out = self.assembler.add(lines) if lines is not None else []
        if final:
            last = self.framer.flush()
            if last is not None:
                out += self.assembler.add(last)
            out += self.assembler.flush()
        bad = 0
        for records in out:
            if records.ends is None:
                records.data, n = recoder.recode(records.data)
            else:
                records.data, records.ends, n = recoder.recode_records(records.data, records.ends)
            bad += n
        return out, bad

    def reading_offset(self) -> int:
        """Where the records handed on so far end: the offset to commit once they are accepted."""
        return self.pos - self.framer.pending - self.assembler.pending

    def commit(self, offset: int) -> None:
        self.offset = offset
        self.skipping_at_offset = self.framer.skipping

    def close(self) -> None:
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
            self.file = None


def _same_file(a: BinaryIO, b: BinaryIO) -> bool:
    sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)

