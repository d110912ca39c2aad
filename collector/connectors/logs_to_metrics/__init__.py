"""``logs_to_metrics``: structured logs become metrics by operator-written rules."""

from collector.component import Factory, Kind, Signal, Stability
from collector.connectors.logs_to_metrics.config import Config
from collector.connectors.logs_to_metrics.connector import Pipeline, create
from collector.connectors.logs_to_metrics.replay import replay

factory = Factory(
    type="logs_to_metrics",
    kind=Kind.CONNECTOR,
    config=Config,
    create=create,
    # logs -> logs: the dead-letter output, for records the rules could not use
    signals={(Signal.LOGS, Signal.METRICS): Stability.ALPHA, (Signal.LOGS, Signal.LOGS): Stability.ALPHA},
    description="Turns structured log records into counters, gauges and histograms.",
)

__all__ = ["Config", "Pipeline", "factory", "replay"]
