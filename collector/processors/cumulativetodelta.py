"""The ``cumulativetodelta`` processor: cumulative sums and histograms become deltas.

Each stream's previous point is kept (at most ``max_streams``, the stalest
forgotten first; a stream unseen for ``max_staleness`` expires). A point's
delta covers the time since the previous point. A new start time, or a
monotonic total that went down, is a reset: the new total is the delta,
from its own start time. A stream's first point follows ``initial_value``,
as in the OpenTelemetry Collector: ``auto`` sends it as a delta only when
its start time is after this processor started (so it holds nothing
already counted), ``keep`` always sends it, ``drop`` never does.
Exponential histograms, summaries and gauges pass unchanged.

```yaml
processors:
  cumulativetodelta:
    include: {match_type: regexp, metrics: ['^http\\.']}
    max_staleness: 10m
    initial_value: auto
```
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.configtypes import Duration, PositiveInt
from collector.pdata import Metrics
from collector.pdata import metrics as m
from collector.processors.metric_selection import MetricNames, name_filter
from collector.processors.streams import StreamTable, convert_streams, convertible, is_reset, subtract


class CumulativeToDeltaConfig(ComponentConfig):
    include: MetricNames | None = Field(None, description="Only these metrics are converted (default: all).")
    exclude: MetricNames | None = Field(None, description="These metrics are left cumulative.")
    max_staleness: Duration = Field(0.0, description="A stream unseen this long is forgotten; 0: only max_streams bounds.")
    max_streams: PositiveInt = Field(100_000, description="Streams remembered at most; the stalest goes first.")
    initial_value: Literal["auto", "keep", "drop"] = Field("auto", description="What to do with a stream's first point.")


class CumulativeToDelta:
    mutates_data = True

    def __init__(self, settings: Settings, config: CumulativeToDeltaConfig, next: Consumer) -> None:
        self._next = next
        self._config = config
        self._names = name_filter(config.include, config.exclude)
        self._streams: StreamTable[m.Point] = StreamTable(config.max_streams, config.max_staleness)
        self._started_ns = time.time_ns()

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def consume(self, batch: Metrics) -> None:
        self._streams.expire()
        convert_streams(batch, self._selected, self._delta, m.Temporality.DELTA)
        if batch.item_count():
            await self._next.consume(batch)

    def _selected(self, metric: m.Metric) -> bool:
        return convertible(metric) and metric.temporality is m.Temporality.CUMULATIVE and self._names(metric.name)

    def _delta(self, key: tuple, metric: m.Metric, point: m.Point) -> m.Point | None:
        prev = self._streams.get(key)
        self._streams.put(key, point)
        if prev is None:
            policy = self._config.initial_value
            if policy == "drop" or (policy == "auto" and not point.start_time_ns >= self._started_ns):
                return None
            return point
        if is_reset(prev, point, metric.monotonic):
            return point
        return subtract(point, prev)


def create(settings: Settings, config: CumulativeToDeltaConfig, next: Consumer) -> CumulativeToDelta:
    return CumulativeToDelta(settings, config, next)


factory = Factory(
    type="cumulativetodelta",
    kind=Kind.PROCESSOR,
    config=CumulativeToDeltaConfig,
    create=create,
    signals={Signal.METRICS: Stability.ALPHA},
    description="Converts cumulative sums and histograms to delta temporality.",
)
