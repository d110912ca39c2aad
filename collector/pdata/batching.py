"""Merging batches into one and splitting one into bounded pieces.

Merging keeps a batch in the cheapest form it can: raw line chunks are
concatenated as a list, and OTLP bytes are concatenated as bytes (a
concatenation of serialized protobuf messages is their merge, and the
``resource_*`` fields are repeated, so nothing is decoded). Splitting, needed
only when a batch exceeds a size limit, works on the decoded form.
"""

from __future__ import annotations

from typing import Any, Sequence

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.pdata.logs import LineChunk, Logs, join_records
from collector.pdata.metrics import Metric, Metrics, ResourceMetrics, ScopeMetrics
from collector.pdata.traces import Traces


def merge(batches: Sequence[Any]) -> Any:
    """One batch holding every item of ``batches`` (all of one signal), in order."""
    if len(batches) == 1:
        return batches[0]
    first = batches[0]
    count = sum(b.item_count() for b in batches)
    if isinstance(first, Logs):
        if all(b.chunks is not None for b in batches):
            return Logs(chunks=[c for b in batches for c in b.chunks], count=count)
        return Logs(otlp_bytes=b"".join(b.serialized() for b in batches), count=count)
    if isinstance(first, Traces):
        return Traces(otlp_bytes=b"".join(b.serialized() for b in batches), count=count)
    if all(b.otlp_bytes is not None for b in batches):
        return Metrics(otlp_bytes=b"".join(b.otlp_bytes for b in batches), count=count)
    return Metrics([rm for b in batches for rm in b.resource_metrics], count=count)


def split(batch: Any, max_items: int) -> list[Any]:
    """Pieces of at most ``max_items`` items each, resource and scope grouping kept."""
    if batch.item_count() <= max_items:
        return [batch]
    if isinstance(batch, Logs):
        if batch.chunks is not None:
            return [Logs(chunks=part) for part in _split_chunks(batch.chunks, max_items)]
        return [Logs(req) for req in _split_request(batch.request, max_items, ExportLogsServiceRequest,
                                                    "resource_logs", "scope_logs", "log_records")]
    if isinstance(batch, Traces):
        return [Traces(req) for req in _split_request(batch.request, max_items, ExportTraceServiceRequest,
                                                      "resource_spans", "scope_spans", "spans")]
    return [Metrics(part) for part in _split_metrics(batch, max_items)]


def _split_request(request: Any, max_items: int, cls: type, resources: str, scopes: str, items: str) -> list[Any]:
    out = [cls()]
    room = max_items
    for group in getattr(request, resources):
        for scope in getattr(group, scopes):
            records = getattr(scope, items)
            start = 0
            while start < len(records):
                if room == 0:
                    out.append(cls())
                    room = max_items
                take = min(room, len(records) - start)
                target_group = getattr(out[-1], resources)
                if not target_group or target_group[-1].resource != group.resource or target_group[-1].schema_url != group.schema_url:
                    new_group = target_group.add()
                    new_group.resource.CopyFrom(group.resource)
                    new_group.schema_url = group.schema_url
                new_scope = getattr(target_group[-1], scopes).add()
                new_scope.scope.CopyFrom(scope.scope)
                new_scope.schema_url = scope.schema_url
                getattr(new_scope, items).extend(records[start:start + take])
                start += take
                room -= take
    return out


def _split_chunks(chunks: list[LineChunk], max_items: int) -> list[list[LineChunk]]:
    out: list[list[LineChunk]] = [[]]
    room = max_items
    for chunk in chunks:
        lines = list(chunk.lines())
        start = 0
        while start < len(lines):
            if room == 0:
                out.append([])
                room = max_items
            part = lines[start:start + room]
            data, ends = join_records(part)
            out[-1].append(LineChunk(data, len(part), chunk.resource, chunk.attributes, chunk.observed_time_ns, ends))
            start += len(part)
            room -= len(part)
    return out


def _split_metrics(batch: Metrics, max_items: int) -> list[list[ResourceMetrics]]:
    out: list[list[ResourceMetrics]] = [[]]
    room = max_items
    for rm in batch.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                start = 0
                while start < len(metric.points) or (not metric.points and start == 0):
                    if room == 0:
                        out.append([])
                        room = max_items
                    take = min(room, len(metric.points) - start)
                    part = out[-1]
                    if not part or part[-1].resource is not rm.resource:
                        part.append(ResourceMetrics(rm.resource, [], rm.schema_url))
                    scopes = part[-1].scope_metrics
                    if not scopes or scopes[-1].scope is not sm.scope:
                        scopes.append(ScopeMetrics(sm.scope, [], sm.schema_url))
                    scopes[-1].metrics.append(Metric(
                        metric.name, metric.type, metric.points[start:start + take], metric.description,
                        metric.unit, metric.temporality, metric.monotonic, metric.metadata))
                    if not metric.points:
                        break
                    start += take
                    room -= take
    return out
