"""The ``awsemf`` exporter: metrics as embedded-metric-format events in CloudWatch Logs.

Per batch: translate to datums (:mod:`exporters.aws.datums`), build EMF
events checked by :mod:`collector.emf` (:mod:`.events`), group them into PutLogEvents requests
(:mod:`.logbatch`), send. A missing log group or stream is created on the
first ResourceNotFoundException (with the configured retention and tags)
and the request sent again. Events the service rejects as too old, too new
or expired are counted from ``rejectedLogEventsInfo``. Drops are counted in
``fathom_exporter_dropped`` with a ``reason``, in data points.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

from collector import emf
from collector.component import Factory, Kind, Settings, Signal, Stability
from collector.errors import PermanentError
from collector.exporterhelper import QueuedExporter
from collector.pdata import Metrics
from exporters.aws.drops import count_dropped, refusal_reason
from exporters.aws.errors import code_of
from exporters.aws.pusher import AwsMetricsPusher
from exporters.awsemf.config import AwsEmfConfig
from exporters.awsemf.events import EventBuilder
from exporters.awsemf.logbatch import LogBatch, batches

if TYPE_CHECKING:  # botocore's client module is imported when the first client is built
    from botocore.client import BaseClient

_EMF_HEADER = ("x-amzn-logs-format", "json/emf")


def _emf_header(service: str, client: BaseClient) -> None:
    """The EMF specification asks PutLogEvents callers to mark the format with this header."""
    if service == "logs":
        client.meta.events.register(
            "before-sign.cloudwatch-logs.PutLogEvents",
            lambda request, **_: request.headers.__setitem__(*_EMF_HEADER),
        )


class AwsEmfExporter(AwsMetricsPusher[LogBatch]):
    _config: AwsEmfConfig

    def __init__(self, settings: Settings, config: AwsEmfConfig) -> None:
        super().__init__(settings, config, max_values=emf.MAX_VALUES_PER_ARRAY, customize=_emf_header)
        self._events = EventBuilder(config)

    async def _send(self, request: LogBatch) -> None:
        if self._config.output_destination == "stdout":
            await self._print(request)
        else:
            await self._put(request)

    def _requests(self, batch: Metrics) -> list[LogBatch]:
        """The PutLogEvents requests for ``batch``; runs in a worker thread (CPU work, off the loop)."""
        resources, dropped = self._translator.translate(batch)
        requests = batches(self._events.build(resources, dropped), dropped)
        count_dropped(self._settings, dropped)
        return requests

    def _refused(self, request: LogBatch, exc: PermanentError) -> None:
        count_dropped(self._settings, {refusal_reason(exc): request.points})
        self._log.error("CloudWatch Logs refused %d events for %s/%s: %s",
                        len(request.events), request.group, request.stream, exc)

    async def _print(self, request: LogBatch) -> None:
        sys.stdout.write("".join(e.message + "\n" for e in request.events))
        sys.stdout.flush()

    async def _put(self, request: LogBatch) -> None:
        params = {"logGroupName": request.group, "logStreamName": request.stream,
                  "logEvents": [{"timestamp": e.timestamp, "message": e.message} for e in request.events]}
        try:
            reply = await self._clients.call("logs", "put_log_events", **params)
        except PermanentError as exc:
            if code_of(exc) != "ResourceNotFoundException":
                raise
            await self._create(request.group, request.stream)
            reply = await self._clients.call("logs", "put_log_events", **params)
        self._rejected(request, reply.get("rejectedLogEventsInfo") or {})

    def _rejected(self, request: LogBatch, info: dict[str, Any]) -> None:
        """Count what the service took but refused to store, by its reason."""
        events = request.events
        counts: Counter[str] = Counter()
        old_end = info.get("tooOldLogEventEndIndex")
        expired_end = info.get("expiredLogEventEndIndex")
        new_start = info.get("tooNewLogEventStartIndex")
        if old_end is not None:
            counts["rejected_too_old"] += sum(e.points for e in events[:old_end + 1])
        if expired_end is not None:
            start = old_end + 1 if old_end is not None else 0
            counts["rejected_expired"] += sum(e.points for e in events[start:expired_end + 1])
        if new_start is not None:
            counts["rejected_too_new"] += sum(e.points for e in events[new_start:])
        count_dropped(self._settings, counts)

    async def _create(self, group: str, stream: str) -> None:
        """Create the stream, and its group first if that is missing too; existing ones are fine."""
        try:
            await self._clients.call("logs", "create_log_stream", logGroupName=group, logStreamName=stream)
        except PermanentError as exc:
            code = code_of(exc)
            if code == "ResourceNotFoundException":
                await self._create_group(group)
                await self._ignore_exists(self._clients.call("logs", "create_log_stream", logGroupName=group,
                                                             logStreamName=stream))
            elif code != "ResourceAlreadyExistsException":
                raise

    async def _create_group(self, group: str) -> None:
        params: dict[str, Any] = {"logGroupName": group}
        if self._config.tags:
            params["tags"] = dict(self._config.tags)
        created = await self._ignore_exists(self._clients.call("logs", "create_log_group", **params))
        if created and self._config.log_retention:
            await self._clients.call("logs", "put_retention_policy", logGroupName=group,
                                     retentionInDays=self._config.log_retention)
        self._log.info("created log group %s", group)

    @staticmethod
    async def _ignore_exists(call: Any) -> bool:
        """Await ``call``; False if the resource already existed (another collector made it)."""
        try:
            await call
        except PermanentError as exc:
            if code_of(exc) != "ResourceAlreadyExistsException":
                raise
            return False
        return True


def create(settings: Settings, config: AwsEmfConfig) -> QueuedExporter:
    return QueuedExporter(settings, config, AwsEmfExporter(settings, config))


factory = Factory(
    type="awsemf",
    kind=Kind.EXPORTER,
    config=AwsEmfConfig,
    create=create,
    signals={Signal.METRICS: Stability.ALPHA},
    description="Sends metrics to CloudWatch as embedded-metric-format events through CloudWatch Logs.",
)
