"""EMF in, EMF out: events from the real aws-embedded-metrics client, read by ``logs_to_metrics``
(``parser: emf``), sent by ``awsemf`` to a CloudWatch Logs emulator and read back with boto3,
name the same CloudWatch metrics (namespace, name, unit, storage resolution, dimensions) with the
same statistics (count, sum, min, max)."""

from __future__ import annotations

import json
import time

from aws_embedded_metrics.logger.metrics_context import MetricsContext
from aws_embedded_metrics.serializers.log_serializer import LogSerializer
from aws_embedded_metrics.storage_resolution import StorageResolution

from collector import emf
from collector.connectors.logs_to_metrics import Config, replay
from exporters.awsemf import AwsEmfConfig
from exporters.awsemf.exporter import AwsEmfExporter
from tests.aws.conftest import REGION, client, counters, settings

NOW_MS = int(time.time() * 1000)
HIGH, STANDARD = StorageResolution.HIGH, StorageResolution.STANDARD


def lines(namespace: str, dims: list[dict[str, str]], metrics: list[tuple]) -> list[str]:
    ctx = MetricsContext.empty()
    ctx.namespace = namespace
    ctx.meta["Timestamp"] = NOW_MS
    if dims:
        for d in dims:
            ctx.put_dimensions(d)
    else:
        ctx.set_dimensions([], use_default=False)
    for name, value, unit, resolution in metrics:
        ctx.put_metric(name, value, unit, resolution)
    return LogSerializer.serialize(ctx)


def identities(events: list[dict]) -> dict[tuple, tuple[float, float, float, float]]:
    """(namespace, name, unit, resolution, dimensions) -> (count, sum, min, max) over every sample."""
    out: dict[tuple, list[float]] = {}
    for doc in events:
        event, problems = emf.read_event(doc, allow_distributions=True)
        assert event is not None, problems
        for directive in event.directives:
            for d in directive.metrics:
                value = event.root[d.name]
                stats = ([value["Count"], value["Sum"], value["Min"], value["Max"]] if isinstance(value, dict)
                         else [len(v := event.values(d.name)), sum(v), min(v), max(v)])
                for names in directive.dimension_sets:
                    key = (directive.namespace, d.name, d.unit, d.storage_resolution,
                           frozenset((k, event.root[k]) for k in names))
                    old = out.get(key)
                    out[key] = stats if old is None else [old[0] + stats[0], old[1] + stats[1],
                                                          min(old[2], stats[2]), max(old[3], stats[3])]
    return {k: tuple(map(float, v)) for k, v in out.items()}


async def test_namespace_and_storage_resolution_survive_emf_in_emf_out(moto):
    source = [
        *lines("Shop", [{"Route": "/pay"}], [("Latency", 12.5, "Milliseconds", STANDARD),
                                             ("Latency", 30, "Milliseconds", STANDARD),
                                             ("Orders", 1, "Count", HIGH)]),
        *lines("Billing", [{"Route": "/pay"}], [("Latency", 7, "Milliseconds", HIGH)]),
        *lines("Shop", [], [("Hits", 3, "Count", STANDARD)]),
    ]
    metrics, bad = replay(Config.model_validate({"parser": "emf"}), ["\n".join(source).encode()])
    assert bad == {}

    s = settings("awsemf")
    exporter = AwsEmfExporter(s, AwsEmfConfig.model_validate(
        {"endpoint": moto, "region": REGION, "namespace": "Configured/Elsewhere"}))
    await exporter.push(metrics)
    await exporter.shutdown()

    logs = client("logs", moto)
    out = [json.loads(e["message"]) for e in logs.get_log_events(
        logGroupName="/metrics/default", logStreamName="otel-stream", startFromHead=True)["events"]]
    assert counters(s, "fathom_exporter_dropped") == {}
    assert all(emf.NAMESPACE_ATTRIBUTE not in doc for doc in out)
    assert identities(out) == identities([json.loads(line) for line in source])
    resolutions = {(d["Name"], d.get("StorageResolution", 60)) for doc in out
                   for directive in doc["_aws"]["CloudWatchMetrics"] for d in directive["Metrics"]}
    assert resolutions == {("Latency", 60), ("Orders", 1), ("Latency", 1), ("Hits", 60)}
