"""Turning raw record bytes into UTF-8, replacing and counting what cannot be read.

One check over the whole buffer settles the common case (valid UTF-8 or
ASCII): the bytes pass through untouched, without a copy.
"""

from __future__ import annotations

import codecs
from typing import Sequence

#: ``encoding: nop`` passes bytes through unchecked, as in the OpenTelemetry Collector.
NOP = "nop"
_REPLACEMENT = "\ufffd"
_REPLACEMENT_UTF8 = _REPLACEMENT.encode()


def check_encoding(name: str) -> str:
    """Validates a config value: a codec that keeps ``\\n`` as the byte 0x0A (so lines split on bytes)."""
    if name.lower() == NOP:
        return NOP
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}") from None
    if "\n".encode(info.name) != b"\n" or "a".encode(info.name) != b"a":
        raise ValueError(f"encoding {name!r} is not ASCII-compatible; lines could not be split on newlines")
    return info.name


class Recoder:
    """``recode(data)`` returns UTF-8 bytes and the number of replaced characters."""

    __slots__ = ("encoding", "_utf8")

    def __init__(self, encoding: str) -> None:
        self.encoding = check_encoding(encoding)
        self._utf8 = self.encoding == "utf-8"

    def recode(self, data: bytes) -> tuple[bytes, int]:
        if self.encoding == NOP:
            return data, 0
        if self._utf8:
            try:
                data.decode("utf-8")
                return data, 0
            except UnicodeDecodeError:
                pass
        text = data.decode(self.encoding, "replace")
        bad = text.count(_REPLACEMENT) - data.count(_REPLACEMENT_UTF8) if self._utf8 else text.count(_REPLACEMENT)
        return text.encode("utf-8"), bad

    def recode_records(self, data: bytes, ends: Sequence[int]) -> tuple[bytes, list[int], int]:
        """As :meth:`recode`, keeping record boundaries (``ends``) right when lengths change."""
        out, bad = self.recode(data)
        if out is data:
            return data, list(ends), 0
        parts, new_ends, start, total = [], [], 0, 0
        for end in ends:
            part, _ = self.recode(data[start:end])
            parts.append(part)
            total += len(part)
            new_ends.append(total)
            start = end
        return b"".join(parts), new_ends, bad
