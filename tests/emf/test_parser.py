"""``parser: emf`` in logs_to_metrics, fed by the real aws-embedded-metrics serializer and hand-written edge cases.

The EMF path is pure Python (orjson, then collector.emf), so there is no
compiled twin to run it against.
"""

import asyncio

import orjson
import pytest
import yaml
from aws_embedded_metrics.logger.metrics_context import MetricsContext
from aws_embedded_metrics.serializers.log_serializer import LogSerializer
from aws_embedded_metrics.storage_resolution import StorageResolution
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.component import Signal
from collector.connectors.logs_to_metrics import Config, replay
from collector.connectors.logs_to_metrics import factory as connector_factory
from collector.connectors.logs_to_metrics.connector import Pipeline
from collector.connectors.logs_to_metrics.emf import NAMESPACE_ATTRIBUTE, SCOPE, STORAGE_RESOLUTION_METADATA
from collector.pdata import LineChunk, Logs
from collector.pdata import metrics as m
from collector.pdata.anyvalue import to_anyvalue
from exporters.prometheus.render import render
from receivers.emf import EmfConfig
from receivers.emf import factory as receiver_factory
from tests.logs_to_metrics.conftest import Sink
from tests.logsources.conftest import Host, make_settings
from tests.logsources.test_emf import run_client

T = 1_700_000_000_000
NOW = (T + 5000) * 1_000_000


def config(text="{}", **kw):
    return Config.model_validate({"parser": "emf", **yaml.safe_load(text), **kw})


def client_lines(*contexts):
    return [line for ctx in contexts for line in LogSerializer.serialize(ctx)]


def context(namespace="Shop", dims=None, metrics=(), props=None, when=T):
    ctx = MetricsContext.empty()
    ctx.namespace = namespace
    ctx.meta["Timestamp"] = when
    if dims is not None:
        for d in dims:
            ctx.put_dimensions(d)
    for name, value, unit, resolution in metrics:
        ctx.put_metric(name, value, unit, resolution)
    for k, v in (props or {}).items():
        ctx.set_property(k, v)
    return ctx


def run(lines, cfg=None):
    data = "\n".join(lines).encode()
    return replay(cfg or config(), [data], NOW)


def by_name(metrics):
    return {metric.name: (scope, metric) for _, scope, metric in metrics.iter_metrics()}


def series(metric):
    return {frozenset(p.attributes.items()): p for p in metric.points}


def key(*pairs):
    return frozenset(pairs)


def test_events_from_the_real_client_become_histograms_per_namespace_and_dimension_set():
    ctx = context(dims=[{"Route": "/pay"}, {"Route": "/pay", "Status": "200"}],
                  metrics=[("Latency", 12.5, "Milliseconds", StorageResolution.STANDARD),
                           ("Latency", 30, "Milliseconds", StorageResolution.STANDARD),
                           ("Orders", 1, "Count", StorageResolution.HIGH)])
    metrics, bad = run(client_lines(ctx, context(dims=[{"Route": "/pay"}],
                                                 metrics=[("Latency", 2, "Milliseconds", StorageResolution.STANDARD)],
                                                 when=T + 1000)))
    assert bad == {}
    named = by_name(metrics)
    scope, latency = named["Latency"]
    assert scope.scope.name == SCOPE
    assert latency.type is m.MetricType.HISTOGRAM and latency.unit == "ms"
    assert latency.temporality is m.Temporality.CUMULATIVE
    assert latency.metadata == {STORAGE_RESOLUTION_METADATA: 60}
    points = series(latency)
    one = points[key((NAMESPACE_ATTRIBUTE, "Shop"), ("Route", "/pay"))]
    assert (one.count, one.sum, one.min, one.max) == (3, 44.5, 2.0, 30.0)
    assert one.bounds == () and one.bucket_counts == []
    assert one.start_time_ns == T * 1_000_000 and one.time_ns == (T + 1000) * 1_000_000
    two = points[key((NAMESPACE_ATTRIBUTE, "Shop"), ("Route", "/pay"), ("Status", "200"))]
    assert (two.count, two.sum) == (2, 42.5)
    orders = named["Orders"][1]
    assert orders.unit == "{count}" and orders.metadata == {STORAGE_RESOLUTION_METADATA: 1}


def test_a_metric_without_dimensions_is_the_namespace_series():
    ctx = context(metrics=[("Hits", 1, "Count", StorageResolution.STANDARD)])
    ctx.set_dimensions([], use_default=False)
    metrics, bad = run(client_lines(ctx))
    assert bad == {}
    assert list(series(by_name(metrics)["Hits"][1])) == [key((NAMESPACE_ATTRIBUTE, "Shop"))]


def test_the_same_name_in_two_namespaces_stays_two_series():
    lines = client_lines(*(context(namespace=ns, dims=[{"Route": "/a"}],
                                   metrics=[("Latency", 1, "Milliseconds", StorageResolution.STANDARD)])
                           for ns in ("A", "B")))
    assert set(series(by_name(run(lines)[0])["Latency"][1])) == {
        key((NAMESPACE_ATTRIBUTE, ns), ("Route", "/a")) for ns in ("A", "B")}


def emf_line(**root):
    doc = {"_aws": {"Timestamp": T, "CloudWatchMetrics": [
        {"Namespace": "App", "Dimensions": [["Route"]], "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}]}]},
        "Route": "/a", "Latency": 5}
    doc.update(root)
    return orjson.dumps(doc).decode()


def test_a_value_array_records_every_sample():
    metrics, _ = run([emf_line(Latency=[1, 2, 3.5]), emf_line(Latency=[])])
    (point,) = by_name(metrics)["Latency"][1].points
    assert (point.count, point.sum, point.min, point.max) == (3, 6.5, 1.0, 3.5)


def test_an_invalid_event_is_counted_with_its_reason_and_yields_no_emf_metric():
    doc = orjson.loads(emf_line())
    doc["_aws"]["CloudWatchMetrics"].append(
        {"Namespace": "App", "Dimensions": [["Missing"]], "Metrics": [{"Name": "Latency"}]})
    lines = [orjson.dumps(doc).decode(), emf_line(Latency="x"), emf_line(Route=7), emf_line(Latency=list(range(101))),
             '{"_aws": 1}', emf_line()]
    metrics, bad = run(lines)
    assert bad == {"emf_missing_dimension": 1, "emf_bad_value": 1, "emf_bad_dimension_value": 1,
                   "emf_too_many_values": 1, "emf_bad_metadata": 1}
    (point,) = by_name(metrics)["Latency"][1].points  # only the last, valid line
    assert point.count == 1


def test_lines_that_are_not_emf():
    metrics, bad = run(['{"msg": "plain json, not an EMF event"}', "not json", "[1]", ""])
    assert bad == {"invalid_json": 1, "not_object": 1} and metrics.item_count() == 0


def test_the_operators_rules_apply_to_emf_lines_as_json():
    cfg = config("""
metrics:
  - {name: emf.events, type: counter, dimensions: [Route]}
  - {name: emf.latency, type: gauge, value: Latency, where: 'Route == "/a"'}
""")
    metrics, bad = run([emf_line(), emf_line(Route="/b"), emf_line(Latency="bad")], cfg)
    named = by_name(metrics)
    assert {k: p.value for k, p in series(named["emf.events"][1]).items()} == {
        key(("Route", "/a")): 2, key(("Route", "/b")): 1}
    assert named["emf.events"][0].scope.name == "fathom/logs_to_metrics"
    assert bad == {"emf_bad_value": 1, "wrong_type": 1}
    assert [p.value for p in named["emf.latency"][1].points] == [5.0]
    assert sum(p.count for p in named["Latency"][1].points) == 2  # "/a" and "/b"; the bad line gave none


def test_cumulative_and_delta_over_flushes():
    for temporality, expected in (("cumulative", [1, 3]), ("delta", [1, 2])):
        pipeline = Pipeline(config(temporality=temporality))
        counts = []
        for lines in ([emf_line()], [emf_line(), emf_line()]):
            data = "\n".join(lines).encode()
            pipeline.consume(Logs(chunks=[LineChunk(data, len(lines))]), NOW)
            (point,) = by_name(pipeline.flush(NOW))["Latency"][1].points
            counts.append(point.count)
        assert counts == expected, temporality


def test_new_dimension_names_later_keep_existing_series_whole():
    doc = orjson.loads(emf_line(Status="200"))
    doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [["Route", "Status"]]
    metrics, _ = run([emf_line(), orjson.dumps(doc).decode(), emf_line()])
    points = series(by_name(metrics)["Latency"][1])
    assert points[key((NAMESPACE_ATTRIBUTE, "App"), ("Route", "/a"))].count == 2
    assert points[key((NAMESPACE_ATTRIBUTE, "App"), ("Route", "/a"), ("Status", "200"))].count == 1


def test_emf_cardinality_limit_folds_new_series_into_overflow():
    overflowed = []
    pipeline = Pipeline(config(emf_cardinality_limit=3), lambda name, n: overflowed.append((name, n)))
    data = "\n".join(emf_line(Route=f"/r{i}") for i in range(5)).encode()
    pipeline.consume(Logs(chunks=[LineChunk(data, 5)]), NOW)
    points = series(by_name(pipeline.flush(NOW))["Latency"][1])
    assert len(points) == 3 and points[key(("otel.metric.overflow", "true"))].count == 3
    assert overflowed == [("Latency", 3)]


def test_otlp_records_with_map_or_string_bodies():
    request = ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    records.add().body.CopyFrom(to_anyvalue(orjson.loads(emf_line(Latency=[1, 2]))))
    records.add().body.string_value = emf_line(Latency=4)
    pipeline = Pipeline(config())
    pipeline.consume(Logs(request=request), NOW)
    assert pipeline.pop_bad() == {}
    (point,) = by_name(pipeline.flush(NOW))["Latency"][1].points
    assert (point.count, point.sum) == (3, 7.0)


def test_config_needs_no_rules_for_emf_and_checks_the_limit():
    assert config().emf_cardinality_limit == 10000
    with pytest.raises(ValueError):
        config(emf_cardinality_limit=0)


def test_prometheus_shows_count_sum_and_the_namespace_label():
    text = render([run([emf_line(Latency=[5, 7])])[0]]).decode()
    labels = 'aws_emf_namespace="App",Route="/a",otel_scope_name="fathom/logs_to_metrics/emf"'
    assert f"Latency_milliseconds_count{{{labels}}} 2\n" in text
    assert f"Latency_milliseconds_sum{{{labels}}} 12.0\n" in text
    assert f'Latency_milliseconds_bucket{{{labels},le="+Inf"}} 2\n' in text


async def test_the_real_client_over_the_emf_receiver_into_the_connector():
    """aws-embedded-metrics in agent mode -> emf receiver (TCP) -> logs_to_metrics -> metrics."""
    metrics_sink = Sink()
    connector = connector_factory.create(make_settings("logs_to_metrics")[0], config(),
                                         {Signal.METRICS: metrics_sink})
    receiver = receiver_factory.create(make_settings("emf")[0], EmfConfig(tcp_endpoint="127.0.0.1:0", udp_endpoint=""),
                                       {Signal.LOGS: connector})
    await receiver.start(Host())
    try:
        await run_client(f"tcp://127.0.0.1:{receiver.servers[0].port}", 10, "custom")
        for _ in range(100):  # the last lines may still be in the receiver's intake
            await connector.flush()
            total = sum(p.count for b in metrics_sink.batches for _, _, mt in b.iter_metrics() for p in mt.points)
            if total == 10:
                break
            await asyncio.sleep(0.02)
    finally:
        await receiver.shutdown()
        await connector.shutdown()
    last = by_name(metrics_sink.batches[-1])["Latency"][1]
    points = series(last)
    ok = points[key((NAMESPACE_ATTRIBUTE, "FathomTest"), ("Route", "/pay"), ("Status", "200"))]
    assert (ok.count, ok.sum, ok.min, ok.max) == (5, 20.0, 0.0, 8.0)  # i = 0, 2, 4, 6, 8
    assert last.unit == "ms"
