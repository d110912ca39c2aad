"""The ``deltatocumulative`` processor: delta sums and histograms become running totals.

Each stream's total is kept (at most ``max_streams``; a new stream past that
is dropped and counted, as the OpenTelemetry Collector does, so existing
totals never restart because of a flood; a stream unseen for ``max_stale``
expires and starts again from zero). The total's start time is its first
delta's start. A delta no newer than the total (a duplicate or out of
order) is dropped. Histograms whose bounds change start a new total.
Exponential histograms, summaries and gauges pass unchanged.

```yaml
processors:
  deltatocumulative:
    max_stale: 5m
    max_streams: 100000
```
"""

from __future__ import annotations

from pydantic import Field

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.configtypes import Duration, PositiveInt
from collector.pdata import Metrics
from collector.pdata import metrics as m
from collector.processors.metric_selection import MetricNames, name_filter
from collector.processors.streams import StreamTable, add, convert_streams, convertible


class DeltaToCumulativeConfig(ComponentConfig):
    include: MetricNames | None = Field(None, description="Only these metrics are converted (default: all).")
    exclude: MetricNames | None = Field(None, description="These metrics are left as deltas.")
    max_stale: Duration = Field(300.0, description="A stream unseen this long is forgotten; 0: never.")
    max_streams: PositiveInt = Field(100_000, description="Streams tracked at most; points of further new streams are dropped.")


class DeltaToCumulative:
    mutates_data = True

    def __init__(self, settings: Settings, config: DeltaToCumulativeConfig, next: Consumer) -> None:
        self._telemetry = settings.telemetry
        self._next = next
        self._names = name_filter(config.include, config.exclude)
        self._totals: StreamTable[m.Point] = StreamTable(config.max_streams, config.max_stale)

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def consume(self, batch: Metrics) -> None:
        self._totals.expire()
        dropped = convert_streams(batch, self._selected, self._accumulate, m.Temporality.CUMULATIVE)
        self._telemetry.add("fathom_deltatocumulative_dropped_points", dropped,
                            description="Delta points dropped: out of order, or past max_streams")
        if batch.item_count():
            await self._next.consume(batch)

    def _selected(self, metric: m.Metric) -> bool:
        return convertible(metric) and metric.temporality is m.Temporality.DELTA and self._names(metric.name)

    def _accumulate(self, key: tuple, metric: m.Metric, point: m.Point) -> m.Point | None:
        total = self._totals.get(key)
        if total is None and len(self._totals) >= self._totals.max_streams:
            return None
        if total is not None and point.time_ns <= total.time_ns:
            return None
        total = add(total, point)
        self._totals.put(key, total)
        return total


def create(settings: Settings, config: DeltaToCumulativeConfig, next: Consumer) -> DeltaToCumulative:
    return DeltaToCumulative(settings, config, next)


factory = Factory(
    type="deltatocumulative",
    kind=Kind.PROCESSOR,
    config=DeltaToCumulativeConfig,
    create=create,
    signals={Signal.METRICS: Stability.ALPHA},
    description="Accumulates delta sums and histograms into cumulative totals.",
)
