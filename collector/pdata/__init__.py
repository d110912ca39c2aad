"""Telemetry data as it crosses component boundaries: always whole batches."""

from typing import Union

from collector.pdata.logs import LineChunk, Logs
from collector.pdata.metrics import Metrics
from collector.pdata.traces import Traces

Batch = Union[Logs, Metrics, Traces]

__all__ = ["Batch", "LineChunk", "Logs", "Metrics", "Traces"]
