"""The collector's own metrics, measured with the OpenTelemetry SDK.

Names follow the OpenTelemetry Collector's internal telemetry
(``otelcol_receiver_accepted_log_records`` and friends), so dashboards and
alerts written for it work unchanged. Everything is counted per batch, never
per record. The metrics are read on demand (a pull reader) and converted to
the internal model, so the same Prometheus rendering code that serves the
``prometheus`` exporter serves ``:8888/metrics``.
"""

from __future__ import annotations

import os
import resource
import time
from typing import Any, Callable, Iterable, Mapping

from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    InMemoryMetricReader,
    Sum,
)
from opentelemetry.sdk.resources import Resource as SdkResource

from collector import __version__
from collector.component import ComponentID, Kind, Signal
from collector.pdata import metrics as m

#: The unit word of each signal in the OpenTelemetry Collector's metric names.
ITEM_NAMES = {Signal.LOGS: "log_records", Signal.METRICS: "metric_points", Signal.TRACES: "spans"}
_ITEM_UNITS = {Signal.LOGS: "{records}", Signal.METRICS: "{datapoints}", Signal.TRACES: "{spans}"}


class Telemetry:
    """Service-wide self-telemetry: one meter provider, read on demand."""

    def __init__(self, service_instance_id: str = "") -> None:
        self._reader = InMemoryMetricReader()
        self.resource = SdkResource.create(
            {
                "service.name": "fathom",
                "service.version": __version__,
                "service.instance.id": service_instance_id or _instance_id(),
            }
        )
        self._provider = MeterProvider(metric_readers=[self._reader], resource=self.resource)
        self.meter = self._provider.get_meter("fathom", __version__)
        self._started = time.monotonic()
        self._counters: dict[str, Any] = {}
        self._gauges: dict[str, list[Callable[[], list[Observation]]]] = {}
        self.meter.create_observable_counter(
            "otelcol_process_uptime",
            callbacks=[lambda _o: [Observation(time.monotonic() - self._started)]],
            unit="s",
            description="Uptime of the process",
        )
        self.meter.create_observable_gauge(
            "otelcol_process_memory_rss",
            callbacks=[lambda _o: [Observation(rss_bytes())]],
            unit="By",
            description="Total physical memory (resident set size)",
        )
        self.meter.create_observable_counter(
            "otelcol_process_cpu_seconds",
            callbacks=[lambda _o: [Observation(_cpu_seconds())]],
            unit="s",
            description="Total CPU user and system time in seconds",
        )

    def counter(self, name: str, unit: str = "1", description: str = "") -> Any:
        """One counter per name, shared by every component that reports it."""
        counter = self._counters.get(name)
        if counter is None:
            counter = self.meter.create_counter(name, unit=unit, description=description)
            self._counters[name] = counter
        return counter

    def gauge(self, name: str, unit: str = "1", description: str = "") -> list[Callable[[], list[Observation]]]:
        """The callbacks of the observable gauge ``name``, created on first use.

        The SDK keeps the first instrument of a name and ignores later ones,
        so every component observing ``name`` adds its callback to one list.
        """
        callbacks = self._gauges.get(name)
        if callbacks is None:
            callbacks = self._gauges[name] = []
            self.meter.create_observable_gauge(
                name, callbacks=[lambda _options: [obs for cb in list(callbacks) for obs in cb()]],
                unit=unit, description=description)
        return callbacks

    def for_component(self, id: ComponentID, kind: Kind) -> "ComponentTelemetry":
        return ComponentTelemetry(self, {kind.value: str(id)})

    def collect(self) -> m.Metrics:
        """A snapshot of every instrument, in the internal metric model."""
        data = self._reader.get_metrics_data()
        return sdk_to_model(data) if data is not None else m.Metrics([])

    def shutdown(self) -> None:
        self._provider.shutdown()


class ComponentTelemetry:
    """A component's handle on self-telemetry, its identity preset as attributes.

    ``attributes`` is ``{"receiver": "otlp/2"}`` and the like, as the
    OpenTelemetry Collector labels its own metrics.
    """

    def __init__(self, telemetry: Telemetry, attributes: Mapping[str, str]) -> None:
        self.telemetry = telemetry
        self.meter = telemetry.meter
        self.attributes = dict(attributes)

    def add(self, name: str, value: int, attributes: Mapping[str, Any] | None = None, *,
            unit: str = "1", description: str = "") -> None:
        """Add to the counter ``name`` under this component's attributes."""
        if value:
            attrs = self.attributes if not attributes else {**self.attributes, **attributes}
            self.telemetry.counter(name, unit, description).add(value, attrs)

    def add_items(self, stem: str, signal: Signal, value: int, attributes: Mapping[str, Any] | None = None) -> None:
        """``add_items("otelcol_receiver_accepted", LOGS, n)`` counts ``..._log_records``."""
        self.add(f"{stem}_{ITEM_NAMES[signal]}", value, attributes, unit=_ITEM_UNITS[signal])

    def observe(self, name: str, callback: Callable[[], Iterable[tuple[float, Mapping[str, Any]]]], *,
                unit: str = "1", description: str = "") -> None:
        """An observable gauge read at collection time; attributes get this component's."""
        attributes = self.attributes

        def observe() -> list[Observation]:
            return [Observation(v, {**attributes, **a}) for v, a in callback()]

        self.telemetry.gauge(name, unit, description).append(observe)


def rss_bytes() -> int:
    """Current resident set size; falls back to the peak where /proc is missing."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _instance_id() -> str:
    import uuid

    return str(uuid.uuid4())


def sdk_to_model(data: Any) -> m.Metrics:
    """OpenTelemetry SDK ``MetricsData`` to the internal model."""
    out = []
    for rm in data.resource_metrics:
        scopes = []
        for sm in rm.scope_metrics:
            metrics = []
            for metric in sm.metrics:
                converted = _sdk_metric(metric)
                if converted is not None:
                    metrics.append(converted)
            scope = m.Scope(sm.scope.name, sm.scope.version or "")
            scopes.append(m.ScopeMetrics(scope, metrics, sm.schema_url or ""))
        out.append(m.ResourceMetrics(m.Resource(dict(rm.resource.attributes)), scopes, rm.schema_url or ""))
    return m.Metrics(out)


def _temporality(t: AggregationTemporality) -> m.Temporality:
    return m.Temporality.DELTA if t == AggregationTemporality.DELTA else m.Temporality.CUMULATIVE


def _sdk_metric(metric: Any) -> m.Metric | None:
    data = metric.data
    common = {"name": metric.name, "description": metric.description or "", "unit": metric.unit or ""}
    if isinstance(data, Sum):
        points = [
            m.NumberPoint(dict(p.attributes), p.time_unix_nano, p.value, p.start_time_unix_nano)
            for p in data.data_points
        ]
        return m.Metric(type=m.MetricType.SUM, points=points, temporality=_temporality(data.aggregation_temporality),
                        monotonic=data.is_monotonic, **common)
    if isinstance(data, Gauge):
        points = [m.NumberPoint(dict(p.attributes), p.time_unix_nano, p.value) for p in data.data_points]
        return m.Metric(type=m.MetricType.GAUGE, points=points, **common)
    if isinstance(data, Histogram):
        points = [
            m.HistogramPoint(
                dict(p.attributes), p.time_unix_nano, p.count, p.sum, tuple(p.explicit_bounds),
                list(p.bucket_counts), p.start_time_unix_nano, p.min, p.max,
            )
            for p in data.data_points
        ]
        return m.Metric(type=m.MetricType.HISTOGRAM, points=points,
                        temporality=_temporality(data.aggregation_temporality), **common)
    return None
