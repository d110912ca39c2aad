"""Log batches: raw line buffers, OTLP messages, or OTLP bytes, converted lazily.

A batch is in one of three forms and turns into another only when a
component asks for it:

* ``chunks``: raw lines from a file or socket, one ``bytes`` buffer per
  source, which the ``logs_to_metrics`` fast path scans without building an
  object per line;
* ``request``: an OTLP ``ExportLogsServiceRequest`` message, resource and
  scope grouping kept;
* ``otlp_bytes``: that message serialized, as received, so OTLP passthrough
  never decodes and re-encodes.

Ownership: batches handed to ``consume`` are read-only to the callee.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.component import Signal
from collector.pdata import otlp_lines
from collector.pdata.anyvalue import attributes_to_proto


@dataclass(slots=True)
class LineChunk:
    """Raw records from one source that share resource and record attributes.

    Records are ``data`` split on ``b"\\n"`` unless ``ends`` is given, in
    which case record ``i`` is ``data[ends[i-1]:ends[i]]`` (multiline records
    keep their inner newlines that way).
    """

    data: bytes
    count: int
    resource: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    observed_time_ns: int = 0
    ends: Sequence[int] | None = None

    def lines(self) -> Iterator[bytes]:
        """Each record as bytes; for slow paths and tests, not the hot loop."""
        if self.ends is None:
            if self.count:
                yield from self.data.split(b"\n")
            return
        start = 0
        for end in self.ends:
            yield self.data[start:end]
            start = end


def join_records(records: Sequence[bytes]) -> tuple[bytes, list[int] | None]:
    """Records as one buffer for a :class:`LineChunk`: ``(data, ends)``.

    ``ends`` is None (split on newlines) unless a record holds a newline of
    its own, so the common case stays the cheap one.
    """
    data = b"\n".join(records)
    if data.count(b"\n") == max(len(records) - 1, 0):
        return data, None
    ends, total = [], 0
    for record in records:
        total += len(record)
        ends.append(total)
    return b"".join(records), ends


class Logs:
    signal = Signal.LOGS
    __slots__ = ("chunks", "_request", "otlp_bytes", "_count")

    def __init__(
        self,
        request: ExportLogsServiceRequest | None = None,
        *,
        chunks: list[LineChunk] | None = None,
        otlp_bytes: bytes | None = None,
        count: int | None = None,
    ) -> None:
        self.chunks = chunks
        self._request = request
        self.otlp_bytes = otlp_bytes
        self._count = count
        if chunks is None and request is None and otlp_bytes is None:
            self._request = ExportLogsServiceRequest()

    @property
    def request(self) -> ExportLogsServiceRequest:
        """The batch as an OTLP message, decoded or built on first access."""
        if self._request is None:
            if self.otlp_bytes is not None:
                self._request = ExportLogsServiceRequest.FromString(self.otlp_bytes)
            else:
                self._request = _chunks_to_request(self.chunks or [])
        return self._request

    def serialized(self) -> bytes:
        """OTLP bytes, reusing what was received when nothing changed it."""
        if self.otlp_bytes is None:
            if self._request is None and self.chunks is not None:
                self.otlp_bytes = otlp_lines.encode(self.chunks)
            else:
                self.otlp_bytes = self.request.SerializeToString()
        return self.otlp_bytes

    def invalidate_serialized(self) -> None:
        """Call before changing ``request`` in place (after copying it)."""
        _ = self.request
        self.otlp_bytes = None
        self.chunks = None
        self._count = None

    def item_count(self) -> int:
        if self._count is None:
            if self.chunks is not None:
                self._count = sum(c.count for c in self.chunks)
            else:
                self._count = sum(
                    len(sl.log_records)
                    for rl in self.request.resource_logs
                    for sl in rl.scope_logs
                )
        return self._count

    def __repr__(self) -> str:
        return f"Logs(records={self.item_count()})"


def _chunks_to_request(chunks: list[LineChunk]) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    for chunk in chunks:
        rl = request.resource_logs.add()
        rl.resource.attributes.extend(attributes_to_proto(chunk.resource))
        records = rl.scope_logs.add().log_records
        attrs = attributes_to_proto(chunk.attributes)
        for line in chunk.lines():
            rec = records.add()
            rec.observed_time_unix_nano = chunk.observed_time_ns
            rec.body.string_value = line.decode("utf-8", "replace")
            if attrs:
                rec.attributes.extend(attrs)
    return request
