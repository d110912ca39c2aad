"""Real pipelines for processor tests: the in-process source and recorder around the processor under test."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.config import load_config_text
from collector.graph import build
from collector.pdata import Logs, Metrics, Traces
from collector.pdata import metrics as m
from collector.pdata.anyvalue import attributes_to_proto, to_anyvalue
from collector.registry import Registry
from collector.resolve import resolve
from collector.telemetry import Telemetry
from tests.core.components import FACTORIES, Recorder, Source


class _Host:
    def get_extension(self, id: Any) -> None:
        return None


Run = Callable[..., Awaitable[list[Any]]]


@pytest.fixture
def run_pipeline() -> Run:
    """``await run_pipeline(processors_yaml, signal, batches, names=[...])``: what the recorder got."""

    async def run(processors: str, signal: str, batches: list[Any], names: list[str] | None = None,
                  telemetry: Telemetry | None = None) -> list[Any]:
        Source.instances.clear()
        Recorder.instances.clear()
        registry = Registry.discover()
        for factory in FACTORIES:
            registry.register(factory)
        names = names or [processors.split(":", 1)[0].strip()]
        text = (f"receivers: {{source: {{}}}}\nprocessors:\n  {processors}\nexporters: {{recorder: {{}}}}\n"
                f"service:\n  pipelines:\n    {signal}: {{receivers: [source], processors: [{', '.join(names)}], "
                f"exporters: [recorder]}}\n")
        graph = build(resolve(load_config_text(text, "test.yaml", env={}), registry), telemetry or Telemetry())
        await graph.start(_Host())
        for batch in batches:
            await Source.instances["source"].send(batch)
        await graph.shutdown(deadline=5)
        return Recorder.instances["recorder"].batches

    return run


def log_batch(records: list[dict[str, Any]], resource: dict[str, Any] | None = None, scope: str = "") -> Logs:
    """Records as dicts: ``body``, ``attributes``, ``severity_text``, ``severity_number``."""
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.extend(attributes_to_proto(resource or {}))
    sl = rl.scope_logs.add()
    sl.scope.name = scope
    for r in records:
        rec = sl.log_records.add()
        if "body" in r:
            to_anyvalue(r["body"], rec.body)
        rec.attributes.extend(attributes_to_proto(r.get("attributes", {})))
        rec.severity_text = r.get("severity_text", "")
        rec.severity_number = r.get("severity_number", 0)
    return Logs(req)


def span_batch(spans: list[dict[str, Any]], resource: dict[str, Any] | None = None) -> Traces:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(attributes_to_proto(resource or {}))
    ss = rs.scope_spans.add()
    for s in spans:
        span = ss.spans.add()
        span.name = s.get("name", "")
        span.kind = s.get("kind", 0)
        span.attributes.extend(attributes_to_proto(s.get("attributes", {})))
        span.start_time_unix_nano = s.get("start", 0)
        span.end_time_unix_nano = s.get("end", 0)
    return Traces(req)


def metric_batch(metrics: list[m.Metric], resource: dict[str, Any] | None = None) -> Metrics:
    return Metrics([m.ResourceMetrics(m.Resource(dict(resource or {})), [m.ScopeMetrics(m.Scope(), metrics)])])


def gauge(name: str, *points: tuple[dict[str, Any], float], time_ns: int = 1) -> m.Metric:
    return m.Metric(name, m.MetricType.GAUGE, [m.NumberPoint(dict(a), time_ns, v) for a, v in points])


def records(batches: list[Logs]) -> list[Any]:
    return [rec for b in batches for rl in b.request.resource_logs for sl in rl.scope_logs for rec in sl.log_records]


def spans(batches: list[Traces]) -> list[Any]:
    return [s for b in batches for rs in b.request.resource_spans for ss in rs.scope_spans for s in ss.spans]


def points(batches: list[Metrics]) -> list[tuple[str, Any]]:
    return [(metric.name, p) for b in batches for _, _, metric in b.iter_metrics() for p in metric.points]
