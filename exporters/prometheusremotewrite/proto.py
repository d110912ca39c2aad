"""The remote-write 1.0 ``WriteRequest`` protobuf, encoded by hand.

Only three messages of ``prometheus/prompb`` are needed (``WriteRequest``
field 1 ``TimeSeries``; ``TimeSeries`` fields 1 ``Label`` and 2 ``Sample``;
``Label`` name=1 value=2; ``Sample`` value=1 double, timestamp=2 int64).
The one maintained Python package with generated classes
(opentelemetry-exporter-prometheus-remote-write) pins protobuf below 7,
which conflicts with the project's protobuf, so the wire format is written
here: each series is encoded once, which also gives its exact size for
batching by bytes.
"""

from __future__ import annotations

import struct
from typing import Sequence

_DOUBLE = struct.Struct("<d")
#: Prometheus's staleness marker: a NaN with this exact bit pattern.
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # int64 is sent as its two's complement
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_series(labels: Sequence[tuple[str, str]], samples: Sequence[tuple[float, int]]) -> bytes:
    """One ``TimeSeries`` as the ``WriteRequest.timeseries`` field (tag included).

    ``labels`` must be sorted by name and hold ``__name__``; samples are
    ``(value, timestamp in ms)``.
    """
    body = bytearray()
    for name, value in labels:
        body += _field(1, _field(1, name.encode("utf-8", "replace")) + _field(2, value.encode("utf-8", "replace")))
    for value, timestamp in samples:
        body += _field(2, b"\x09" + _DOUBLE.pack(value) + b"\x10" + _varint(timestamp))
    return _field(1, bytes(body))
