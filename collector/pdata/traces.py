"""Trace batches: OTLP messages or OTLP bytes, decoded only when looked into."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.component import Signal


class Traces:
    signal = Signal.TRACES
    __slots__ = ("_request", "otlp_bytes", "_count")

    def __init__(
        self,
        request: ExportTraceServiceRequest | None = None,
        *,
        otlp_bytes: bytes | None = None,
        count: int | None = None,
    ) -> None:
        if request is None and otlp_bytes is None:
            request = ExportTraceServiceRequest()
        self._request = request
        self.otlp_bytes = otlp_bytes
        self._count = count

    @property
    def request(self) -> ExportTraceServiceRequest:
        if self._request is None:
            assert self.otlp_bytes is not None
            self._request = ExportTraceServiceRequest.FromString(self.otlp_bytes)
        return self._request

    def serialized(self) -> bytes:
        if self.otlp_bytes is None:
            self.otlp_bytes = self.request.SerializeToString()
        return self.otlp_bytes

    def invalidate_serialized(self) -> None:
        _ = self.request
        self.otlp_bytes = None
        self._count = None

    def item_count(self) -> int:
        if self._count is None:
            self._count = sum(
                len(ss.spans) for rs in self.request.resource_spans for ss in rs.scope_spans
            )
        return self._count

    def __repr__(self) -> str:
        return f"Traces(spans={self.item_count()})"
