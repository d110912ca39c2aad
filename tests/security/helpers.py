"""What the security tests share: a span from the SDK, our receiver and exporters built from plain dicts."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from collector.component import Kind, Signal
from collector.pdata import Metrics, Traces
from exporters import otlp as otlp_exporter
from exporters import otlphttp
from exporters import prometheusremotewrite
from receivers import otlp as otlp_receiver

NO_QUEUE = {"sending_queue": {"enabled": False}, "retry_on_failure": {"enabled": False}}


def sdk_spans() -> tuple:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("security").start_as_current_span("checked"):
        pass
    provider.shutdown()
    return memory.get_finished_spans()


def traces_batch() -> Traces:
    return Traces(otlp_bytes=encode_spans(sdk_spans()).SerializeToString())


def metrics_batch() -> Metrics:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("security").create_counter("checked").add(1)
    data = reader.get_metrics_data()
    provider.shutdown()
    return Metrics(otlp_bytes=encode_metrics(data).SerializeToString())


def receiver(make_settings: Callable[..., Any], protocols: Mapping[str, Any], consumer: Any) -> Any:
    config = otlp_receiver.OtlpReceiverConfig.model_validate({"protocols": protocols})
    return otlp_receiver.factory.create(make_settings("otlp", Kind.RECEIVER), config,
                                        {signal: consumer for signal in Signal})


def exporter(make_settings: Callable[..., Any], kind: str, config: Mapping[str, Any]) -> Any:
    module = {"otlp": otlp_exporter, "otlphttp": otlphttp, "prometheusremotewrite": prometheusremotewrite}[kind]
    factory = module.factory
    settings = make_settings(f"{kind}/sec", Kind.EXPORTER,
                             frozenset({Signal.METRICS}) if kind == "prometheusremotewrite" else frozenset(Signal))
    return factory.create(settings, factory.config.model_validate({**NO_QUEUE, **config}))
