"""The ``filter`` processor: drop log records, spans and metric points by condition.

Conditions are written in the shared language (:mod:`collector.expr`,
fields as :mod:`collector.processors.fields` reads them). Each signal has
its own section, used by the pipelines of that signal; each section takes
``include`` and/or ``exclude``, a condition or a list of them. An item is
kept when it meets at least one ``include`` condition (or there is none)
and no ``exclude`` condition. Metrics left with no points, and resources or
scopes left empty, are removed; a batch left empty is not passed on.

```yaml
processors:
  filter/noise:
    logs:
      exclude:
        - 'level in ["debug", "trace"]'
        - 'record.severity_text == "DEBUG"'
        - 'resource.service.name == "healthcheck"'
    metrics:
      exclude: 'name matches "^go_gc_" or attributes.le == "+Inf"'
    traces:
      include: 'duration_ms > 100 or status.code == "error"'
```

Raw log lines stay raw lines (a JSON line's fields are read by parsing it),
so a ``logs_to_metrics`` connector behind the filter keeps its fast path;
a raw line has no ``record.<field>`` (no severity until a parser sets one).
"""

from __future__ import annotations

from typing import Any, Callable, Union

from pydantic import Field, ValidationInfo, field_validator

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.pdata import Batch, LineChunk, Logs, Metrics, Traces
from collector.pdata.logs import join_records
from collector.pdata.anyvalue import attributes_from_proto
from collector.processors import fields
from collector.telemetry import ITEM_NAMES

Conditions = Union[str, list[str]]
_FILTERED = {Signal.LOGS: "otelcol_processor_filter_logs_filtered",
             Signal.METRICS: "otelcol_processor_filter_datapoints_filtered",
             Signal.TRACES: "otelcol_processor_filter_spans_filtered"}


def _texts(value: Conditions | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


class Section(ComponentConfig):
    """The conditions of one signal."""

    include: Conditions | None = Field(None, description="Keep only items meeting one of these conditions.")
    exclude: Conditions | None = Field(None, description="Drop items meeting any of these conditions.")


class FilterConfig(ComponentConfig):
    logs: Section = Field(default_factory=Section, description="Conditions on log records.")
    metrics: Section = Field(default_factory=Section, description="Conditions on metric data points.")
    traces: Section = Field(default_factory=Section, description="Conditions on spans.")

    @field_validator("logs", "metrics", "traces")
    @classmethod
    def _parse(cls, section: Section, info: ValidationInfo) -> Section:
        """Every condition parses and names fields that the section's signal has."""
        signal = Signal(info.field_name)
        for text in _texts(section.include) + _texts(section.exclude):
            fields.expression(text, signal)
        return section


def keep_test(section: Section, signal: Signal) -> Callable[[Any], bool] | None:
    """The item test of one section, or ``None`` when it keeps everything."""

    def compiled(value: Conditions | None) -> list[Callable[[Any], bool]]:
        return [fields.bind(fields.expression(t, signal), signal) for t in _texts(value)]

    include, exclude = compiled(section.include), compiled(section.exclude)
    if not include and not exclude:
        return None
    return lambda item: (not include or any(c(item) for c in include)) and not any(c(item) for c in exclude)


class FilterProcessor:
    mutates_data = True

    def __init__(self, settings: Settings, config: FilterConfig, next: Consumer) -> None:
        self._settings = settings
        self._signal = settings.signal
        self._next = next
        self._keep = keep_test(getattr(config, self._signal.value), self._signal)

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def consume(self, batch: Batch) -> None:
        if self._keep is not None:
            before = batch.item_count()
            batch = _FILTERS[self._signal](batch, self._keep)
            after = batch.item_count()
            self._settings.telemetry.add(_FILTERED[self._signal], before - after,
                                         unit="{" + ITEM_NAMES[self._signal] + "}",
                                         description="Items dropped by the filter processor")
            if not after:
                return
        await self._next.consume(batch)


def _filter_logs(batch: Logs, keep: Callable[[Any], bool]) -> Logs:
    if batch.chunks is not None:
        return Logs(chunks=[_filter_chunk(c, keep) for c in batch.chunks if c.count])
    req = batch.request
    for rl in req.resource_logs:
        resource = attributes_from_proto(rl.resource.attributes)
        for sl in rl.scope_logs:
            _prune(batch, sl.log_records, lambda rec: keep(fields.LogItem(resource, rec)))
    _drop_empty(batch, req.resource_logs, "scope_logs", "log_records")
    return batch


def _filter_chunk(chunk: LineChunk, keep: Callable[[Any], bool]) -> LineChunk:
    resource, attributes = dict(chunk.resource), dict(chunk.attributes)
    lines = [line for line in chunk.lines() if keep(fields.LogItem(resource, line=line, attributes=attributes))]
    data, ends = join_records(lines)
    return LineChunk(data, len(lines), chunk.resource, chunk.attributes, chunk.observed_time_ns, ends)


def _filter_traces(batch: Traces, keep: Callable[[Any], bool]) -> Traces:
    req = batch.request
    for rs in req.resource_spans:
        resource = attributes_from_proto(rs.resource.attributes)
        for ss in rs.scope_spans:
            _prune(batch, ss.spans, lambda span: keep(fields.SpanItem(resource, span)))
    _drop_empty(batch, req.resource_spans, "scope_spans", "spans")
    return batch


def _filter_metrics(batch: Metrics, keep: Callable[[Any], bool]) -> Metrics:
    verdicts = [
        (metric, [keep(fields.PointItem(rm.resource.attributes, metric, p)) for p in metric.points])
        for rm, _, metric in batch.iter_metrics()
    ]
    if all(all(v) for _, v in verdicts):
        return batch
    batch.invalidate_serialized()
    emptied = set()
    for metric, verdict in verdicts:
        if not all(verdict):
            metric.points = [p for p, k in zip(metric.points, verdict) if k]
            if not metric.points:
                emptied.add(id(metric))
    for rm in batch.resource_metrics:
        for sm in rm.scope_metrics:
            sm.metrics = [m for m in sm.metrics if id(m) not in emptied]
        rm.scope_metrics = [sm for sm in rm.scope_metrics if sm.metrics]
    batch.resource_metrics[:] = [rm for rm in batch.resource_metrics if rm.scope_metrics]
    return batch


def _prune(batch: Logs | Traces, items: Any, keep: Callable[[Any], bool]) -> None:
    dropped = [i for i, it in enumerate(items) if not keep(it)]
    if dropped:
        batch.invalidate_serialized()
        for i in reversed(dropped):
            del items[i]


def _drop_empty(batch: Logs | Traces, resources: Any, scopes_field: str, items_field: str) -> None:
    for res in resources:
        scopes = getattr(res, scopes_field)
        for i in reversed(range(len(scopes))):
            if not getattr(scopes[i], items_field):
                batch.invalidate_serialized()
                del scopes[i]
    for i in reversed(range(len(resources))):
        if not getattr(resources[i], scopes_field):
            batch.invalidate_serialized()
            del resources[i]


_FILTERS: dict[Signal, Callable[[Any, Callable[[Any], bool]], Any]] = {
    Signal.LOGS: _filter_logs, Signal.METRICS: _filter_metrics, Signal.TRACES: _filter_traces,
}


def create(settings: Settings, config: FilterConfig, next: Consumer) -> FilterProcessor:
    return FilterProcessor(settings, config, next)


factory = Factory(
    type="filter",
    kind=Kind.PROCESSOR,
    config=FilterConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA, Signal.METRICS: Stability.ALPHA, Signal.TRACES: Stability.ALPHA},
    description="Drops log records, metric points and spans by condition.",
)
