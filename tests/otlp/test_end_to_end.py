"""An app using the OpenTelemetry SDK's own OTLP exporters -> otlp receiver -> otlp/otlphttp
exporter -> an OTLP backend built from the proto services: every field arrives unchanged."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.metrics import Observation
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from collector.component import Kind, Signal
from collector.pdata import Metrics
from exporters import otlp as otlp_exporter
from exporters import otlphttp
from receivers import otlp as otlp_receiver
from tests.otlp.backend import Backend

RESOURCE = Resource.create({"service.name": "shop", "k8s.pod.uid": "abc", "replicas": 3, "ratio": 0.5,
                            "enabled": True, "zones": ["a", "b"]}, schema_url="https://opentelemetry.io/schemas/1.21.0")
ATTRS = {"str": "v", "int": -7, "float": 2.5, "bool": False, "strs": ["x", "y"], "ints": [1, 2], "floats": [0.5],
         "bools": [True, False]}


def _spans() -> tuple:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("shop.checkout", "1.2.3", schema_url="https://s/1", attributes={"scope.k": "v"})
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER, attributes=ATTRS) as parent:
        parent.add_event("cache miss", {"key": "cart:1", "size": 3})
        with tracer.start_as_current_span("child", kind=SpanKind.CLIENT,
                                          links=[Link(parent.get_span_context(), {"why": "retry"})]) as child:
            child.set_status(Status(StatusCode.ERROR, "boom"))
            child.record_exception(ValueError("bad cart"))
    provider.shutdown()
    return memory.get_finished_spans()


def _metrics():
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader], views=[
        View(instrument_name="payload.size", aggregation=ExponentialBucketHistogramAggregation()),
    ])
    meter = provider.get_meter("shop.meter", "0.1", schema_url="https://s/2")
    meter.create_counter("orders", unit="{order}", description="orders taken").add(3, {"route": "/buy"})
    meter.create_up_down_counter("queue.depth").add(-2, {"q": "a"})
    latency = meter.create_histogram("latency", unit="ms")
    for v in (1.5, 12.0, 250.0):
        latency.record(v, {"route": "/buy"})
    size = meter.create_histogram("payload.size", unit="By")
    for v in (0.1, 10.0, 1e6):
        size.record(v)
    meter.create_observable_gauge("temperature", callbacks=[lambda _o: [Observation(21.5, {"room": "lab"})]])
    meter.create_gauge("cores").set(8)
    data = reader.get_metrics_data()
    provider.shutdown()
    return data


def _logs() -> tuple:
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("shop.log", "3.0", schema_url="https://s/3")
    logger.emit(timestamp=1_700_000_000_000_000_001, observed_timestamp=1_700_000_000_000_000_002,
                severity_number=SeverityNumber.WARN, severity_text="WARN", body="disk almost full",
                attributes=ATTRS, event_name="disk.warning")
    logger.emit(body={"structured": {"nested": [1, "two", b"\x00\x01"]}, "n": 1}, severity_number=SeverityNumber.INFO)
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("in-span"):
        logger.emit(body="inside a span")
    provider.shutdown()
    return memory.get_finished_logs()


def _sdk_exporters(transport: str, port: int):
    if transport == "grpc":
        endpoint = f"127.0.0.1:{port}"
        return (GrpcSpanExporter(endpoint=endpoint, insecure=True), GrpcMetricExporter(endpoint=endpoint, insecure=True),
                GrpcLogExporter(endpoint=endpoint, insecure=True))
    base = f"http://127.0.0.1:{port}/v1"
    return (HttpSpanExporter(endpoint=f"{base}/traces"), HttpMetricExporter(endpoint=f"{base}/metrics"),
            HttpLogExporter(endpoint=f"{base}/logs"))


def _exporter(kind: str, backend: Backend, make_settings):
    settings = make_settings(kind.split("-")[0] + "/e2e", Kind.EXPORTER)
    no_queue = {"sending_queue": {"enabled": False}, "retry_on_failure": {"enabled": False}}
    if kind == "otlp":
        config = otlp_exporter.OtlpExporterConfig.model_validate(
            {"endpoint": f"127.0.0.1:{backend.grpc_port}", "tls": {"insecure": True},
             "headers": {"X-Tenant": "t1"}, **no_queue})
        return otlp_exporter.factory.create(settings, config)
    encoding = kind.split("-")[1]
    config = otlphttp.OtlpHttpExporterConfig.model_validate(
        {"endpoint": f"http://127.0.0.1:{backend.http_port}", "encoding": encoding,
         "headers": {"X-Tenant": "t1"}, **no_queue})
    return otlphttp.factory.create(settings, config)


@pytest.fixture
async def backend():
    b = await Backend().start()
    yield b
    await b.stop()


@pytest.mark.parametrize("exporter_kind", ["otlp", "otlphttp-proto", "otlphttp-json"])
@pytest.mark.parametrize("sdk_transport", ["grpc", "http"])
async def test_sdk_to_backend_unchanged(sdk_transport, exporter_kind, backend, make_settings):
    exporter = _exporter(exporter_kind, backend, make_settings)
    await exporter.start(None)
    config = otlp_receiver.OtlpReceiverConfig.model_validate(
        {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}})
    receiver = otlp_receiver.factory.create(make_settings("otlp", Kind.RECEIVER), config,
                                            {signal: exporter for signal in Signal})
    await receiver.start(None)
    try:
        port = receiver.grpc.port if sdk_transport == "grpc" else receiver.http.port
        span_exp, metric_exp, log_exp = _sdk_exporters(sdk_transport, port)
        spans, metrics, logs = _spans(), _metrics(), _logs()
        for sdk_exporter, data in ((span_exp, spans), (metric_exp, metrics), (log_exp, logs)):
            result = await asyncio.to_thread(sdk_exporter.export, data)
            assert result.name == "SUCCESS", (sdk_exporter, result)
            await asyncio.to_thread(sdk_exporter.shutdown)
    finally:
        await receiver.shutdown()
        await exporter.shutdown()
    assert backend.received[Signal.TRACES] == [encode_spans(spans)]
    assert backend.received[Signal.METRICS] == [encode_metrics(metrics)]
    assert backend.received[Signal.LOGS] == [encode_logs(logs)]
    seen = backend.metadata if exporter_kind == "otlp" else backend.http_headers
    assert all(h.get("x-tenant", h.get("X-Tenant")) == "t1" for h in seen) and len(seen) == 3


async def test_sdk_metrics_survive_decode_and_reencode(backend, make_settings):
    """A processor that looks into metrics forces the model round trip; nothing is lost."""
    exporter = _exporter("otlp", backend, make_settings)
    await exporter.start(None)
    expected = encode_metrics(_metrics())
    batch = Metrics(otlp_bytes=expected.SerializeToString())
    batch.invalidate_serialized()  # what a processor does before changing the model
    await exporter.consume(batch)
    await exporter.shutdown()
    assert backend.received[Signal.METRICS] == [expected]

