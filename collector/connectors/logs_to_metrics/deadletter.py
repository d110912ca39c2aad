"""Bad records as logs again, for a dead-letter pipeline: each keeps its body, resource and attributes.

When the connector is listed as a receiver of a logs pipeline, every record
that could not be turned into metrics (the first reason the scanner found)
goes there with the attribute :data:`ERROR_ATTRIBUTE` set to that reason,
so nothing the rules reject is silently lost. A batch of raw lines gives raw
lines (one chunk per run of records with the same reason, in order); an
OTLP batch gives OTLP records under copies of their resource and scope.
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.pdata import LineChunk, Logs

ERROR_ATTRIBUTE = "fathom.logs_to_metrics.error"

#: (index of the record in its scan, reason), as the scanners' ``pop_bad_records`` give them
BadRecords = Sequence[tuple[int, str]]


class DeadLetters:
    """The bad records of one consumed batch; :meth:`batch` hands them over as one :class:`Logs`."""

    def __init__(self) -> None:
        self._chunks: list[LineChunk] = []
        self._request: ExportLogsServiceRequest | None = None
        # the output's resource and scope groups, by the input's (ids: protobuf messages are not hashable)
        self._resources: dict[int, Any] = {}
        self._scopes: dict[tuple[int, int], Any] = {}

    def add_lines(self, chunk: LineChunk, bad: BadRecords) -> None:
        """Records of a scanned chunk, by index."""
        if not bad:
            return
        lines = chunk.data.split(b"\n") if chunk.ends is None else list(chunk.lines())
        for reason, run in itertools.groupby(bad, key=lambda b: b[1]):
            records = [lines[i] for i, _ in run]
            self._chunks.append(LineChunk(
                b"".join(records), len(records), chunk.resource, {**chunk.attributes, ERROR_ATTRIBUTE: reason},
                chunk.observed_time_ns, list(itertools.accumulate(len(r) for r in records))))

    def add_record(self, resource_logs: Any, scope_logs: Any, record: Any, reason: str) -> None:
        """One OTLP record, copied under a copy of its resource and scope."""
        if self._request is None:
            self._request = ExportLogsServiceRequest()
        rl = self._resources.get(id(resource_logs))
        if rl is None:
            rl = self._resources[id(resource_logs)] = self._request.resource_logs.add(
                resource=resource_logs.resource, schema_url=resource_logs.schema_url)
        out = self._scopes.get((id(resource_logs), id(scope_logs)))
        if out is None:
            out = self._scopes[id(resource_logs), id(scope_logs)] = rl.scope_logs.add(
                scope=scope_logs.scope, schema_url=scope_logs.schema_url)
        copy = out.log_records.add()
        copy.CopyFrom(record)
        kv = copy.attributes.add(key=ERROR_ATTRIBUTE)
        kv.value.string_value = reason

    def batch(self) -> Logs | None:
        if self._chunks:
            return Logs(chunks=self._chunks)
        if self._request is not None:
            return Logs(self._request)
        return None
