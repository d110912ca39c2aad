"""Writes a summary (``basic``), one line per item (``normal``) or a full dump
(``detailed``) of every batch to the collector's log, as the OpenTelemetry
Collector's debug exporter does. For looking at a pipeline, not for volume.
"""

from __future__ import annotations

from typing import Literal

from google.protobuf import text_format
from pydantic import Field

from collector.component import Factory, Kind, Settings, Signal, Stability
from collector.exporterhelper import ExporterConfig, PushExporter, QueueConfig, QueuedExporter
from collector.pdata import Batch, Logs, Metrics
from collector.pdata.metrics import HistogramPoint, NumberPoint, SummaryPoint


class DebugConfig(ExporterConfig):
    verbosity: Literal["basic", "normal", "detailed"] = Field(
        "basic", description="basic: counts per batch; normal: one line per item; detailed: every field."
    )
    sending_queue: QueueConfig = Field(
        default_factory=lambda: QueueConfig(enabled=False),
        description="Off by default: output appears in the order batches arrive.",
    )


class DebugExporter(PushExporter):
    def __init__(self, settings: Settings, config: DebugConfig) -> None:
        self._log = settings.logger
        self._verbosity = config.verbosity

    async def push(self, batch: Batch) -> None:
        summary = {"signal": batch.signal.value, "items": batch.item_count()}
        if self._verbosity == "basic":
            self._log.info("%s: %d items", batch.signal.value.capitalize(), batch.item_count(), extra=summary)
            return
        detailed = self._verbosity == "detailed"
        if isinstance(batch, Metrics):
            text = "\n".join(_metric_lines(batch, detailed))
        elif detailed:
            text = text_format.MessageToString(batch.request, as_utf8=True)
        elif isinstance(batch, Logs):
            text = "\n".join(
                text_format.MessageToString(record.body, as_one_line=True, as_utf8=True)
                for rl in batch.request.resource_logs for sl in rl.scope_logs for record in sl.log_records
            )
        else:
            text = "\n".join(
                f"{span.name} trace_id={span.trace_id.hex()} span_id={span.span_id.hex()}"
                for rs in batch.request.resource_spans for ss in rs.scope_spans for span in ss.spans
            )
        self._log.info("%s: %d items\n%s", batch.signal.value.capitalize(), batch.item_count(), text, extra=summary)


def _metric_lines(batch: Metrics, detailed: bool) -> list[str]:
    lines = []
    for rm, sm, metric in batch.iter_metrics():
        if detailed:
            lines.append(f"{metric.name} ({metric.type.value}, unit={metric.unit!r}, "
                         f"temporality={metric.temporality.name.lower()}, monotonic={metric.monotonic}) "
                         f"resource={dict(rm.resource.attributes)} scope={sm.scope.name!r}")
        for p in metric.points:
            lines.append(("  " if detailed else f"{metric.name} ") + _point_text(p))
    return lines


def _point_text(p: object) -> str:
    attrs = getattr(p, "attributes", {})
    if isinstance(p, NumberPoint):
        return f"{dict(attrs)} {p.value}"
    if isinstance(p, HistogramPoint):
        return f"{dict(attrs)} count={p.count} sum={p.sum} buckets={list(zip(p.bounds, p.bucket_counts))}"
    if isinstance(p, SummaryPoint):
        return f"{dict(attrs)} count={p.count} sum={p.sum} quantiles={p.quantiles}"
    return f"{dict(attrs)} count={getattr(p, 'count', '?')}"


def create(settings: Settings, config: DebugConfig) -> QueuedExporter:
    return QueuedExporter(settings, config, DebugExporter(settings, config))


factory = Factory(
    type="debug",
    kind=Kind.EXPORTER,
    config=DebugConfig,
    create=create,
    signals={Signal.LOGS: Stability.BETA, Signal.METRICS: Stability.BETA, Signal.TRACES: Stability.BETA},
    description="Logs what reaches it, for looking at a pipeline.",
)
