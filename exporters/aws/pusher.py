"""What both CloudWatch exporters do around their own requests.

Translate a metrics batch into requests off the event loop, send each
request, resend only the requests a retry still owes (``PendingRequests``),
and count what the service refused. An exporter supplies the three parts
that differ: how a batch becomes requests, how one request is sent, and
what a refusal counts as.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from typing import Any, Callable, Generic, TypeVar

from collector.component import Host, Settings
from collector.errors import PermanentError
from collector.exporterhelper import PushExporter
from collector.pdata import Batch, Metrics
from exporters.aws.config import AwsMetricsExporterConfig
from exporters.aws.datums import TranslateOptions, Translator
from exporters.aws.delta import DeltaTracker
from exporters.aws.pending import PendingRequests
from exporters.aws.session import AwsClients

R = TypeVar("R")


class AwsMetricsPusher(PushExporter, Generic[R]):
    def __init__(self, settings: Settings, config: AwsMetricsExporterConfig, *, max_values: int,
                 customize: Callable[[str, Any], None] | None = None) -> None:
        self._settings = settings
        self._config = config
        self._log = settings.logger
        self._translator = Translator(
            TranslateOptions(config.resource_to_telemetry_conversion.enabled, config.histograms,
                             config.detailed_metrics, max_values),
            DeltaTracker(config.retain_initial_value_of_delta_metric),
        )
        self._clients = AwsClients(region=config.region, endpoint=config.endpoint, profile=config.profile,
                                   timeout=config.timeout, max_connections=config.sending_queue.num_consumers,
                                   customize=customize)
        retry = config.retry_on_failure
        self._pending: PendingRequests[R] = PendingRequests(
            max_entries=config.sending_queue.queue_size + config.sending_queue.num_consumers,
            max_age=(retry.max_elapsed_time or 3600.0) + config.timeout * 2,
        )

    async def start(self, host: Host) -> None:
        """Nothing to open: clients, credentials and region are resolved on the first send."""

    async def shutdown(self) -> None:
        await asyncio.to_thread(self._clients.close)

    async def push(self, batch: Batch) -> None:
        if not isinstance(batch, Metrics):
            raise PermanentError(f"{self._settings.id.type} exports metrics, not {batch.signal}")
        await self._pending.push(batch, lambda: asyncio.to_thread(self._requests, batch), self._send, self._refused)

    @abstractmethod
    def _requests(self, batch: Metrics) -> list[R]:
        """The service calls for ``batch``; runs in a worker thread (CPU work, off the loop)."""

    @abstractmethod
    async def _send(self, request: R) -> None:
        """Make one call; raise the typed errors of exporters.aws.errors."""

    @abstractmethod
    def _refused(self, request: R, exc: PermanentError) -> None:
        """Count and log a request the service refused for good."""
