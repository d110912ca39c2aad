"""OTLP on the wire, per signal: message types, batches, counts and the JSON mapping.

One table shared by the OTLP receiver and both OTLP exporters, so the
knowledge of which request, response, gRPC service, HTTP path and
``rejected_*`` field belongs to which signal lives in one place.

JSON follows the OTLP/JSON rules (opentelemetry-proto docs/specification.md,
"JSON Protobuf Encoding"): the proto3 JSON mapping with lowerCamelCase keys,
enums as integers, 64-bit integers as strings, unknown fields ignored, and
trace and span ids as hex strings rather than base64.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Callable

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from collector.component import Signal
from collector.pdata import Batch, Logs, Metrics, Traces
from collector.pdata import otlp_metrics


def _count_logs(msg: Any) -> int:
    return sum(len(sl.log_records) for rl in msg.resource_logs for sl in rl.scope_logs)


def _count_spans(msg: Any) -> int:
    return sum(len(ss.spans) for rs in msg.resource_spans for ss in rs.scope_spans)


def _count_points(msg: Any) -> int:
    total = 0
    for rm in msg.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                if kind is not None:
                    total += len(getattr(metric, kind).data_points)
    return total


def _metrics_batch(msg: Any, raw: bytes | None, count: int) -> Metrics:
    # Metrics batches carry bytes or the model, never a message: serialize
    # what came as JSON so a passthrough exporter still needs no model.
    return Metrics(otlp_bytes=raw if raw is not None else msg.SerializeToString(), count=count)


@dataclass(frozen=True)
class Wire:
    """How one signal travels as OTLP."""

    signal: Signal
    request: type[Message]
    response: type[Message]
    #: full gRPC service name; the method is always ``Export``.
    service: str
    default_path: str
    #: the ``partial_success`` field that counts rejected items.
    rejected_field: str
    count: Callable[[Any], int]
    _batch: Callable[[Any, bytes | None, int], Batch]

    @property
    def grpc_method(self) -> str:
        return f"/{self.service}/Export"

    def batch(self, msg: Message, raw: bytes | None = None) -> Batch:
        """A batch owning ``msg`` (and ``raw``, the bytes it was parsed from, if any)."""
        return self._batch(msg, raw, self.count(msg))

    def batch_of_bytes(self, raw: bytes, count: int) -> Batch:
        """A batch of a serialized request alone: parsed only if a component asks for the message,
        so a passthrough to an OTLP exporter never parses it."""
        return self._batch(None, raw, count)

    def rejected(self, response: Message) -> tuple[int, str]:
        """``(rejected items, error message)`` from a response's partial success."""
        partial = response.partial_success  # type: ignore[attr-defined]
        return getattr(partial, self.rejected_field), partial.error_message


def _service(module: Any, name: str) -> str:
    return module.DESCRIPTOR.services_by_name[name].full_name


WIRES: dict[Signal, Wire] = {
    Signal.LOGS: Wire(
        Signal.LOGS, logs_pb.ExportLogsServiceRequest, logs_pb.ExportLogsServiceResponse,
        _service(logs_pb, "LogsService"), "/v1/logs", "rejected_log_records", _count_logs,
        lambda msg, raw, n: Logs(msg, otlp_bytes=raw, count=n),
    ),
    Signal.METRICS: Wire(
        Signal.METRICS, metrics_pb.ExportMetricsServiceRequest, metrics_pb.ExportMetricsServiceResponse,
        _service(metrics_pb, "MetricsService"), "/v1/metrics", "rejected_data_points", _count_points,
        _metrics_batch,
    ),
    Signal.TRACES: Wire(
        Signal.TRACES, trace_pb.ExportTraceServiceRequest, trace_pb.ExportTraceServiceResponse,
        _service(trace_pb, "TraceService"), "/v1/traces", "rejected_spans", _count_spans,
        lambda msg, raw, n: Traces(msg, otlp_bytes=raw, count=n),
    ),
}


def batch_bytes(batch: Batch) -> bytes:
    """The batch as a serialized Export*ServiceRequest, reusing received bytes."""
    if isinstance(batch, Metrics):
        return otlp_metrics.encode(batch)
    return batch.serialized()


def batch_message(batch: Batch) -> Message:
    """The batch as an Export*ServiceRequest message (read-only: it may be the batch's own)."""
    if isinstance(batch, Metrics):
        if batch.otlp_bytes is not None:
            return metrics_pb.ExportMetricsServiceRequest.FromString(batch.otlp_bytes)
        return otlp_metrics.to_proto(batch)
    return batch.request


# --- OTLP/JSON ---------------------------------------------------------------

#: Bytes fields that OTLP/JSON writes as hex. Every JSON object key in an OTLP
#: message is a field name (attribute keys are values of "key"), so matching
#: on the key alone is exact.
_HEX_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


def _ids(node: Any, convert: Callable[[str], str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _HEX_ID_KEYS and isinstance(value, str):
                node[key] = convert(value)
            elif isinstance(value, (dict, list)):
                _ids(value, convert)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _ids(item, convert)


def _hex_to_base64(value: str) -> str:
    try:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    except ValueError:
        raise ValueError(f"invalid trace or span id {value[:64]!r}: expected a hex string") from None


def _base64_to_hex(value: str) -> str:
    return binascii.b2a_hex(base64.b64decode(value)).decode("ascii")


def from_json(message_type: type[Message], data: bytes) -> Message:
    """Parse an OTLP/JSON body. Raises ``ValueError`` saying what is wrong and where."""
    try:
        tree = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON: {exc}") from None
    if not isinstance(tree, dict):
        raise ValueError(f"expected a JSON object, got {type(tree).__name__}")
    _ids(tree, _hex_to_base64)
    try:
        return json_format.ParseDict(tree, message_type(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def to_json(msg: Message) -> bytes:
    """Serialize to OTLP/JSON."""
    tree = json_format.MessageToDict(msg, use_integers_for_enums=True)
    _ids(tree, _base64_to_hex)
    return orjson.dumps(tree)
