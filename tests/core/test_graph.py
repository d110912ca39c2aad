"""The pipeline graph: what is built, in which order it starts and stops, and where data goes."""

from __future__ import annotations

import textwrap

from collector.graph import build
from collector.telemetry import Telemetry
from tests.core.components import EVENTS, Recorder, Source, logs

CONFIG = textwrap.dedent("""
    receivers: {source: {}, source/2: {}}
    processors: {pass: {}, pass/2: {}}
    exporters: {recorder: {}, recorder/2: {}}
    connectors: {bridge: {}}
    service:
      pipelines:
        logs: {receivers: [source, source/2], processors: [pass, pass/2], exporters: [bridge, recorder]}
        logs/copy: {receivers: [source], exporters: [recorder/2]}
        metrics: {receivers: [bridge], processors: [pass], exporters: [recorder/2]}
""")


class FakeHost:
    def get_extension(self, id):
        return None


async def test_downstream_starts_first_and_upstream_stops_first(resolve_text):
    graph = build(resolve_text(CONFIG), Telemetry())
    await graph.start(FakeHost())
    started = list(EVENTS)
    EVENTS.clear()
    await graph.shutdown(deadline=5)
    stopped = list(EVENTS)

    def before(events, a, b):
        return events.index(a) < events.index(b)

    # Every component starts after everything it sends to, and stops before it.
    edges = [
        ("exporter recorder/2", "processor pass@metrics"),
        ("processor pass@metrics", "connector bridge"),
        ("connector bridge", "processor pass/2@logs"),
        ("exporter recorder", "processor pass/2@logs"),
        ("processor pass/2@logs", "processor pass@logs"),
        ("processor pass@logs", "receiver source"),
        ("processor pass@logs", "receiver source/2"),
        ("exporter recorder/2", "receiver source"),
    ]
    for downstream, upstream in edges:
        assert before(started, f"start {downstream}", f"start {upstream}"), (downstream, upstream)
        assert before(stopped, f"stop {upstream}", f"stop {downstream}"), (downstream, upstream)
    assert len(started) == len(stopped) == 8  # 2 receivers, 3 processor instances, 2 exporters, 1 connector


async def test_one_receiver_feeds_every_pipeline_and_connectors_join_them(resolve_text):
    graph = build(resolve_text(CONFIG), Telemetry())
    await graph.start(FakeHost())
    await Source.instances["source"].send(logs(3))
    await Source.instances["source/2"].send(logs(2))
    await graph.shutdown(deadline=5)
    assert Recorder.instances["recorder"].items() == 5
    # recorder/2 gets the copy pipeline (3) and, through the bridge, the metrics pipeline (5).
    assert Recorder.instances["recorder/2"].items() == 8


async def test_shutdown_before_start_and_twice_is_safe(resolve_text):
    graph = build(resolve_text(CONFIG), Telemetry())
    await graph.shutdown(deadline=1)
    await graph.start(FakeHost())
    await graph.shutdown(deadline=1)
    await graph.shutdown(deadline=1)


async def test_self_metrics_count_every_boundary(resolve_text):
    telemetry = Telemetry()
    graph = build(resolve_text(CONFIG), telemetry)
    await graph.start(FakeHost())
    await Source.instances["source"].send(logs(3))
    await graph.shutdown(deadline=5)
    points = {}
    for _, _, metric in telemetry.collect().iter_metrics():
        for p in metric.points:
            points[(metric.name, tuple(sorted(p.attributes.items())))] = p.value
    assert points[("otelcol_receiver_accepted_log_records", (("receiver", "source"),))] == 3
    assert points[("otelcol_exporter_sent_log_records", (("exporter", "recorder"),))] == 3
    assert points[("otelcol_processor_incoming_items", (("otel.signal", "logs"), ("processor", "pass")))] == 3 + 3


async def test_an_exporter_that_counts_itself_is_counted_once(resolve_text):
    from collector.pdata import Metrics
    from collector.pdata import metrics as m

    telemetry = Telemetry()
    graph = build(resolve_text(textwrap.dedent("""
        receivers: {source: {}}
        exporters:
          prometheus: {endpoint: "127.0.0.1:0"}
          recorder: {}
          prometheusremotewrite: {endpoint: "http://127.0.0.1:9/write", retry_on_failure: {enabled: false}}
        service:
          pipelines:
            metrics: {receivers: [source], exporters: [prometheus, recorder, prometheusremotewrite]}
    """)), telemetry)
    await graph.start(FakeHost())
    points = [m.NumberPoint({"i": i}, 1, i) for i in range(3)]
    batch = Metrics([m.ResourceMetrics(m.Resource(), [m.ScopeMetrics(m.Scope(), [
        m.Metric("g", m.MetricType.GAUGE, points)])])])
    await Source.instances["source"].send(batch)
    await graph.shutdown(deadline=5)
    sent = {tuple(p.attributes.items()): p.value for _, _, metric in telemetry.collect().iter_metrics()
            if metric.name == "otelcol_exporter_sent_metric_points" for p in metric.points}
    # remote write's peer is down: nothing was sent, and the graph did not count the input as sent
    assert sent == {(("exporter", "prometheus"),): 3, (("exporter", "recorder"),): 3}


async def test_every_exporter_reports_its_queue(resolve_text):
    telemetry = Telemetry()
    graph = build(resolve_text(textwrap.dedent("""
        receivers: {source: {}}
        exporters: {pusher: {sending_queue: {queue_size: 7}}, pusher/2: {sending_queue: {queue_size: 9}}}
        service:
          pipelines:
            logs: {receivers: [source], exporters: [pusher, pusher/2]}
    """)), telemetry)
    await graph.start(FakeHost())
    capacity = {p.attributes["exporter"]: p.value for _, _, metric in telemetry.collect().iter_metrics()
                if metric.name == "otelcol_exporter_queue_capacity" for p in metric.points}
    await graph.shutdown(deadline=5)
    assert capacity == {"pusher": 7, "pusher/2": 9}
