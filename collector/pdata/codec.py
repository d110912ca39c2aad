"""Batches to bytes and back, for queues that outlive the process.

OTLP bytes are the format for anything that already is or can cheaply be
OTLP. Raw line chunks keep their own compact form (a JSON header and the
line buffer as is), because turning every line into an OTLP record only to
park it on disk would cost far more than the write.

Layout: one byte for the signal, one for the form, then the body.
"""

from __future__ import annotations

import struct

import orjson

from collector.component import Signal
from collector.pdata import Batch, LineChunk, Logs, Metrics, Traces
from collector.pdata import otlp_metrics

_SIGNALS = {Signal.LOGS: 0, Signal.METRICS: 1, Signal.TRACES: 2}
_SIGNAL_OF = {v: k for k, v in _SIGNALS.items()}
_OTLP, _CHUNKS = 0, 1
_U32 = struct.Struct("<I")


class CodecError(ValueError):
    """Bytes that are not an encoded batch."""


def encode(batch: Batch) -> bytes:
    head = bytes([_SIGNALS[batch.signal]])
    if isinstance(batch, Logs) and batch.chunks is not None and batch.otlp_bytes is None:
        parts = [head + bytes([_CHUNKS]), _U32.pack(len(batch.chunks))]
        for chunk in batch.chunks:
            header = orjson.dumps([chunk.count, chunk.resource, chunk.attributes, chunk.observed_time_ns,
                                   list(chunk.ends) if chunk.ends is not None else None], default=_jsonable)
            parts += [_U32.pack(len(header)), header, _U32.pack(len(chunk.data)), chunk.data]
        return b"".join(parts)
    if isinstance(batch, Metrics):
        body = otlp_metrics.encode(batch)
    else:
        body = batch.serialized()
    return head + bytes([_OTLP]) + body


def decode(data: bytes) -> Batch:
    if len(data) < 2 or data[0] not in _SIGNAL_OF or data[1] not in (_OTLP, _CHUNKS):
        raise CodecError("not an encoded batch")
    signal, form, body = _SIGNAL_OF[data[0]], data[1], memoryview(data)[2:]
    if form == _OTLP:
        raw = bytes(body)
        if signal is Signal.LOGS:
            return Logs(otlp_bytes=raw)
        if signal is Signal.TRACES:
            return Traces(otlp_bytes=raw)
        return Metrics(otlp_bytes=raw)
    if signal is not Signal.LOGS:
        raise CodecError("line chunks are only for logs")
    try:
        (n,), pos = _U32.unpack_from(body, 0), 4
        chunks = []
        for _ in range(n):
            (size,) = _U32.unpack_from(body, pos)
            count, resource, attributes, observed, ends = orjson.loads(body[pos + 4:pos + 4 + size])
            pos += 4 + size
            (size,) = _U32.unpack_from(body, pos)
            chunks.append(LineChunk(bytes(body[pos + 4:pos + 4 + size]), count, resource, attributes, observed, ends))
            pos += 4 + size
    except (struct.error, orjson.JSONDecodeError, ValueError, TypeError) as exc:
        raise CodecError(f"corrupt line chunks: {exc}") from exc
    return Logs(chunks=chunks)


def _jsonable(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"cannot store a {type(value).__name__} attribute")
