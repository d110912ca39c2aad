"""Translation cost of the CloudWatch exporters: series per second from a batch to API requests.

Run: ``python -m bench.awsemf [series]``. No network: it builds the requests
each exporter would send (awsemf: checked EMF events in PutLogEvents
batches; awscloudwatch: PutMetricData calls) and reports the rate.
"""

from __future__ import annotations

import logging
import sys
import time

from collector.component import ComponentID, Kind, Settings, Signal
from collector.pdata import metrics as m
from collector.telemetry import Telemetry
from exporters.awscloudwatch import AwsCloudWatchConfig, AwsCloudWatchExporter
from exporters.awsemf import AwsEmfConfig, AwsEmfExporter


def flood(series: int) -> m.Metrics:
    """10 gauges x series/10 attribute sets, within the last hour."""
    now = time.time_ns()
    metrics = [m.Metric(f"metric_{k}", m.MetricType.GAUGE, [
        m.NumberPoint({"host": f"h{i % 500}", "path": f"/p/{i}"}, now - (i % 3600) * 10**9, float(i))
        for i in range(series // 10)]) for k in range(10)]
    return m.Metrics([m.ResourceMetrics(m.Resource({"service.name": "bench"}), [m.ScopeMetrics(m.Scope(), metrics)])])


def main() -> None:
    series = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    for name, exporter in (
        ("awsemf", AwsEmfExporter(_settings("awsemf"), AwsEmfConfig(region="us-east-1"))),
        ("awscloudwatch", AwsCloudWatchExporter(_settings("awscloudwatch"), AwsCloudWatchConfig(region="us-east-1"))),
    ):
        batch = flood(series)
        start = time.perf_counter()
        requests = exporter._requests(batch)
        elapsed = time.perf_counter() - start
        print(f"{name}: {series} series -> {len(requests)} requests in {elapsed:.2f}s "
              f"({series / elapsed:,.0f} series/s)")


def _settings(type_: str) -> Settings:
    id = ComponentID(type_)
    return Settings(id, Kind.EXPORTER, logging.getLogger(type_), Telemetry().for_component(id, Kind.EXPORTER),
                    frozenset({Signal.METRICS}))


if __name__ == "__main__":
    main()
