"""OTLP ``ExportLogsServiceRequest`` bytes written straight from line buffers.

Building one protobuf ``LogRecord`` per line costs microseconds a line; a
record made from a raw line is always the same shape, so this writes the
protobuf wire format by hand (field numbers from opentelemetry-proto,
``logs/v1/logs.proto`` and ``common/v1/common.proto``)::

    ExportLogsServiceRequest { 1: ResourceLogs }
    ResourceLogs  { 1: Resource { 1: KeyValue... }  2: ScopeLogs }
    ScopeLogs     { 2: LogRecord... }
    LogRecord     { 5: AnyValue body { 1: string_value }  6: KeyValue...  11: fixed64 observed_time_unix_nano }

Per chunk, the attributes and the time are encoded once (by protobuf
itself, so they match exactly) as the constant tail of every record; per
line only the length prefixes vary, and they are cached by line length
together with the tail before them, so a line costs one lookup and two
entries in one final join.
The output is byte for byte what serializing the message built by
:func:`collector.pdata.logs._chunks_to_request` gives (fields in number
order, as protobuf writes them); tests hold it to that.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from collector.pdata.anyvalue import attributes_to_proto

if TYPE_CHECKING:
    from collector.pdata.logs import LineChunk

_RESOURCE_LOGS = b"\x0a"  # ExportLogsServiceRequest.resource_logs = 1, length-delimited
_RESOURCE = b"\x0a"  # ResourceLogs.resource = 1
_RESOURCE_ATTRIBUTE = b"\x0a"  # Resource.attributes = 1
_SCOPE_LOGS = b"\x12"  # ResourceLogs.scope_logs = 2
_LOG_RECORD = 0x12  # ScopeLogs.log_records = 2
_BODY = 0x2A  # LogRecord.body = 5
_STRING_VALUE = 0x0A  # AnyValue.string_value = 1
_ATTRIBUTE = b"\x32"  # LogRecord.attributes = 6
_OBSERVED_TIME = b"\x59"  # LogRecord.observed_time_unix_nano = 11, fixed64


def varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _attributes(tag: bytes, attributes: Mapping[str, Any]) -> bytes:
    return b"".join(tag + varint(len(kv)) + kv
                    for kv in (m.SerializeToString() for m in attributes_to_proto(attributes)))


class _Separators(dict):
    """Line length -> what goes before a line: the previous record's tail, then this record's
    tag and length, its body's tag and length, and the string's tag and length.

    ``tail`` (attributes and time) ends every record of a chunk; it is the
    same for all of them, so the separators are too, for a given line length.
    """

    def __init__(self, tail: bytes) -> None:
        super().__init__()
        self.tail = tail

    def __missing__(self, n: int) -> bytes:
        string = varint(n)
        body = 1 + len(string) + n
        body_len = varint(body)
        record = 1 + len(body_len) + body + len(self.tail)
        separator = self.tail + bytes([_LOG_RECORD]) + varint(record) + bytes([_BODY]) + body_len + bytes(
            [_STRING_VALUE]) + string
        self[n] = separator
        return separator


def _valid_records(chunk: "LineChunk") -> list[bytes]:
    """The records as valid UTF-8, as ``string_value`` needs: each invalid one decoded with replacement.

    A chunk that is valid UTF-8 as a whole needs no per-line work unless
    ``ends`` cuts it inside a character.
    """
    data = chunk.data
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return [line.decode("utf-8", "replace").encode() for line in chunk.lines()]
        if chunk.ends is not None and any(0x80 <= data[end] < 0xC0 for end in chunk.ends if end < len(data)):
            return [line.decode("utf-8", "replace").encode() for line in chunk.lines()]
    return data.split(b"\n") if chunk.ends is None else list(chunk.lines())


def _records(chunk: "LineChunk", separators: _Separators) -> list[bytes]:
    """Every record of ``chunk``, encoded, as parts to join: separator, line, separator, line..., tail."""
    lines = _valid_records(chunk)
    parts: list[bytes] = [separators.tail] * (2 * len(lines) + 1)
    parts[0:-1:2] = map(separators.__getitem__, map(len, lines))
    parts[1::2] = lines
    parts[0] = parts[0][len(separators.tail):]  # the first record has no record before it
    return parts


def encode(chunks: Sequence["LineChunk"]) -> bytes:
    """A serialized ``ExportLogsServiceRequest``: per chunk, one ResourceLogs with one ScopeLogs."""
    out: list[bytes] = []
    cache: dict[tuple[int, int], _Separators] = {}  # chunks of one source share attributes
    for chunk in chunks:
        key = (id(chunk.attributes), chunk.observed_time_ns)
        separators = cache.get(key)
        if separators is None:
            tail = _attributes(_ATTRIBUTE, chunk.attributes)
            if chunk.observed_time_ns:
                tail += _OBSERVED_TIME + struct.pack("<Q", chunk.observed_time_ns)
            separators = cache[key] = _Separators(tail)
        records = _records(chunk, separators) if chunk.count else []
        scope_len = sum(map(len, records))
        resource = _attributes(_RESOURCE_ATTRIBUTE, chunk.resource)
        scope = varint(scope_len)
        resource_logs = 1 + len(varint(len(resource))) + len(resource) + 1 + len(scope) + scope_len
        out += (_RESOURCE_LOGS, varint(resource_logs), _RESOURCE, varint(len(resource)), resource, _SCOPE_LOGS,
                scope)
        out += records
    return b"".join(out)
