"""The ``awscloudwatch`` exporter: metrics straight to CloudWatch with PutMetricData.

For users who want metrics without logs. The same translation as awsemf
(:mod:`exporters.aws.datums`), sent as MetricDatum entries by the API's
rules: at most 1,000 data and 1 MB of payload per call (counted on the
JSON body before botocore's gzip), at most 30 dimensions per datum, at most
150 Values/Counts per datum (longer distributions are split), histograms as
distributions or statistic sets, timestamps within two weeks before and two
hours after now. What breaks a rule (:mod:`collector.emf` holds CloudWatch's
naming and value rules) is dropped and counted by reason. A datum's own
namespace and storage resolution (from the ``emf`` parser) win over the
configured ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from collector import emf
from collector.component import Factory, Kind, Settings, Signal, Stability
from collector.errors import PermanentError
from collector.exporterhelper import QueuedExporter
from collector.pdata import Metrics
from exporters.aws import AwsMetricsExporterConfig, routed
from exporters.aws.datums import Datum, Distribution, StatisticSet
from exporters.aws.drops import count_dropped, refusal_reason
from exporters.aws.pusher import AwsMetricsPusher

MAX_DATA = 1000
MAX_PAYLOAD = 1_000_000  # "1 MB"; kept under 2^20 so the estimate's small error cannot matter
MAX_VALUES = 150
MAX_AGE_MS = 14 * 24 * 3600 * 1000
MAX_AHEAD_MS = 2 * 3600 * 1000
_ENVELOPE = 64  # {"Namespace": "...", "MetricData": [...]} around the data


class AwsCloudWatchConfig(AwsMetricsExporterConfig):
    """The shared CloudWatch settings; nothing beyond them is needed for PutMetricData."""


@dataclass(slots=True)
class PutRequest:
    namespace: str
    data: list[dict[str, Any]]


def metric_datum(datum: Datum, resolution: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MetricName": datum.name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(datum.dimensions.items())],
        "Timestamp": datum.time_ms / 1000,
        "Unit": datum.unit,
        "StorageResolution": resolution,
    }
    value = datum.value
    if isinstance(value, Distribution):
        out["Values"], out["Counts"] = value.values, value.counts
    elif isinstance(value, StatisticSet):
        out["StatisticValues"] = {"SampleCount": value.count, "Sum": value.sum,
                                  "Minimum": value.min, "Maximum": value.max}
    else:
        out["Value"] = value
    return out


def requests_for(data: dict[str, list[dict[str, Any]]]) -> list[PutRequest]:
    """Calls of at most 1,000 data and MAX_PAYLOAD bytes of JSON each, per namespace."""
    out = []
    for namespace, items in data.items():
        current: list[dict[str, Any]] = []
        size = _ENVELOPE + len(namespace)
        for item in items:
            cost = len(orjson.dumps(item)) + 1
            if current and (len(current) >= MAX_DATA or size + cost > MAX_PAYLOAD):
                out.append(PutRequest(namespace, current))
                current, size = [], _ENVELOPE + len(namespace)
            current.append(item)
            size += cost
        if current:
            out.append(PutRequest(namespace, current))
    return out


class AwsCloudWatchExporter(AwsMetricsPusher[PutRequest]):
    _config: AwsCloudWatchConfig

    def __init__(self, settings: Settings, config: AwsCloudWatchConfig) -> None:
        super().__init__(settings, config, max_values=MAX_VALUES)

    def _requests(self, batch: Metrics, now_ms: int | None = None) -> list[PutRequest]:
        """The PutMetricData calls for ``batch``; runs in a worker thread."""
        resources, dropped = self._translator.translate(batch)
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for group in resources:
            for namespace, datum in routed(group, self._config.namespace, dropped):
                if len(datum.dimensions) > emf.MAX_DIMENSIONS_PER_SET:
                    dropped["too_many_dimensions"] += 1
                elif datum.time_ms < now_ms - MAX_AGE_MS:
                    dropped["too_old"] += 1
                elif datum.time_ms > now_ms + MAX_AHEAD_MS:
                    dropped["too_far_ahead"] += 1
                else:
                    resolution = datum.storage_resolution or self._config.storage_resolution
                    by_namespace.setdefault(namespace, []).append(metric_datum(datum, resolution))
        count_dropped(self._settings, dropped)
        return requests_for(by_namespace)

    def _refused(self, request: PutRequest, exc: PermanentError) -> None:
        count_dropped(self._settings, {refusal_reason(exc): len(request.data)})
        self._log.error("CloudWatch refused %d data in %s: %s", len(request.data), request.namespace, exc)

    async def _send(self, request: PutRequest) -> None:
        await self._clients.call("cloudwatch", "put_metric_data", Namespace=request.namespace,
                                 MetricData=request.data)


def create(settings: Settings, config: AwsCloudWatchConfig) -> QueuedExporter:
    return QueuedExporter(settings, config, AwsCloudWatchExporter(settings, config))


factory = Factory(
    type="awscloudwatch",
    kind=Kind.EXPORTER,
    config=AwsCloudWatchConfig,
    create=create,
    signals={Signal.METRICS: Stability.ALPHA},
    description="Sends metrics to CloudWatch with PutMetricData.",
)
