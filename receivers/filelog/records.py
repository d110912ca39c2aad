"""From complete lines to records: one line each, multiline by pattern, or container log lines.

An assembler may hold lines back (a multiline record that may go on, a
partial container line); ``pending`` says how many bytes from the end of
what it was fed start at the earliest line it holds, so the file checkpoint
never moves past them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

from collector.pdata.logs import join_records
from receivers.lines import Lines


@dataclass(slots=True)
class Records:
    """``count`` records; split on ``b"\\n"`` unless ``ends`` is set (see LineChunk)."""

    data: bytes
    count: int
    ends: Sequence[int] | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


class Assembler(Protocol):
    pending: int
    bad: int

    def add(self, lines: Lines) -> list[Records]: ...

    def flush(self) -> list[Records]: ...


class SingleLine:
    """Each line is a record: the fast path, no per-line work."""

    pending = 0
    bad = 0

    def add(self, lines: Lines) -> list[Records]:
        return [Records(lines.data, lines.count)]

    def flush(self) -> list[Records]:
        return []


def joined(records: list[bytes]) -> Records:
    """Records as one buffer, with ``ends`` only when a record holds a newline."""
    data, ends = join_records(records)
    return Records(data, len(records), ends)


class Multiline:
    """Groups lines into records that start (or end) at a line matching ``pattern``."""

    bad = 0

    def __init__(self, pattern: str, *, at_start: bool) -> None:
        self._search = re.compile(pattern.encode()).search
        self._at_start = at_start
        self._held: list[bytes] = []
        self.pending = 0

    def add(self, lines: Lines) -> list[Records]:
        parts = self._held + lines.data.split(b"\n")
        search = self._search
        records: list[bytes] = []
        first = 0
        if self._at_start:
            for i in range(1, len(parts)):
                if search(parts[i]):
                    records.append(b"\n".join(parts[first:i]))
                    first = i
        else:
            for i, part in enumerate(parts):
                if search(part):
                    records.append(b"\n".join(parts[first:i + 1]))
                    first = i + 1
        self._held = parts[first:]
        self.pending = sum(len(p) + 1 for p in self._held)
        return [joined(records)] if records else []

    def flush(self) -> list[Records]:
        held, self._held, self.pending = self._held, [], 0
        return [joined([b"\n".join(held)])] if held else []
