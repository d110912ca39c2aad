"""Cutting a byte stream into lines, a whole block at a time.

Shared by every line source (files, TCP connections, UDP datagrams) so the
max-line-size rule and the count of cut lines are written once. The work per
block is a few C-level scans (``rfind``, ``count``, and ``split`` only when a
line may be too long), never a Python loop per line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Lines:
    """Complete records from one block: ``data`` holds ``count`` records joined by ``b"\\n"``."""

    data: bytes
    count: int


class LineFramer:
    """Holds the incomplete last line of a stream between blocks.

    A line longer than ``max_line_size`` is cut to that size, handed on, and
    the rest of it up to the next newline is skipped; ``too_long`` counts the
    cuts so the caller can report them.
    """

    __slots__ = ("max_line_size", "_tail", "skipping", "too_long")

    def __init__(self, max_line_size: int) -> None:
        self.max_line_size = max_line_size
        self._tail = b""
        #: inside the skipped rest of a cut line (saved in file checkpoints)
        self.skipping = False
        self.too_long = 0

    @property
    def pending(self) -> int:
        """Bytes fed but not yet handed on (the incomplete last line)."""
        return len(self._tail)

    def feed(self, data: bytes) -> Lines | None:
        """The complete lines that ``data`` finishes; the caller owns the result."""
        buf = self._tail + data if self._tail else data
        if self.skipping:
            nl = buf.find(b"\n")
            if nl < 0:
                self._tail = b""
                return None
            buf = buf[nl + 1:]
            self.skipping = False
        last = buf.rfind(b"\n")
        if last < 0:
            self._tail = buf
            return self._cut_tail(None)
        complete, self._tail = buf[:last], buf[last + 1:]
        lines = Lines(complete, complete.count(b"\n") + 1)
        if len(complete) > self.max_line_size:
            lines = self._cut(lines)
        return self._cut_tail(lines)

    def flush(self) -> Lines | None:
        """The incomplete last line as a record, at the end of a stream."""
        tail, self._tail = self._tail, b""
        self.skipping = False
        return Lines(tail, 1) if tail else None

    def _cut(self, lines: Lines) -> Lines:
        parts = lines.data.split(b"\n")
        limit = self.max_line_size
        if max(map(len, parts)) <= limit:
            return lines
        cut = [p[:limit] for p in parts]
        self.too_long += sum(1 for p in parts if len(p) > limit)
        return Lines(b"\n".join(cut), lines.count)

    def _cut_tail(self, lines: Lines | None) -> Lines | None:
        if len(self._tail) <= self.max_line_size:
            return lines
        head, self._tail = self._tail[: self.max_line_size], b""
        self.skipping = True
        self.too_long += 1
        if lines is None:
            return Lines(head, 1)
        return Lines(lines.data + b"\n" + head, lines.count + 1)
