"""The status page's data, without a browser: rates from counters, the graph, cardinality, errors."""

from __future__ import annotations

import logging

from collector.component import Kind
from collector.config import load_config_text
from collector.extensions.status import rates, snapshot
from collector.extensions.status.errorlog import RecentErrors
from collector.pdata import metrics as m
from collector.registry import Registry
from collector.resolve import resolve


def counters(**values: float) -> m.Metrics:
    """``exporter__otlp__otelcol_exporter_sent_spans=5``: one cumulative counter point of exporter otlp."""
    metrics = []
    for key, value in values.items():
        kind, id, name = key.split("__")
        point = m.NumberPoint({kind: id}, 0, value)
        metrics.append(m.Metric(name, m.MetricType.SUM, [point], temporality=m.Temporality.CUMULATIVE, monotonic=True))
    return m.Metrics([m.ResourceMetrics(m.Resource({}), [m.ScopeMetrics(m.Scope("fathom"), metrics)])])


def test_rates_sum_signals_per_column_and_survive_a_counter_reset():
    history = rates.History(keep=10)
    history.add(0.0, counters(exporter__otlp__otelcol_exporter_sent_spans=100,
                              exporter__otlp__otelcol_exporter_sent_log_records=50), ())
    history.add(2.0, counters(exporter__otlp__otelcol_exporter_sent_spans=300,
                              exporter__otlp__otelcol_exporter_sent_log_records=90,
                              exporter__otlp__otelcol_exporter_enqueue_failed_spans=4), ())
    assert history.rates(10.0) == {("exporter", "otlp", "sent"): 120.0, ("exporter", "otlp", "dropped"): 2.0}
    history.add(3.0, counters(exporter__otlp__otelcol_exporter_sent_spans=7), ())  # re-created by a reload
    assert history.rates(1.0)[("exporter", "otlp", "sent")] == 7.0
    series = history.series("exporter", "otlp", ["sent", "dropped"], snapshot.QUEUE_SIZE)
    assert series["sent"] == [120.0, 7.0] and series["dropped"] == [2.0, 0.0]


def test_the_rate_window_reaches_back_to_the_oldest_sample_within_it():
    history = rates.History(keep=10)
    for t, total in [(0, 0), (1, 10), (2, 30), (3, 60)]:
        history.add(float(t), counters(receiver__otlp__otelcol_receiver_accepted_log_records=total), ())
    assert history.rates(2.0) == {("receiver", "otlp", "received"): 25.0}  # (60 - 10) / 2


CONFIG = """
receivers: {testgen: {}}
processors: {batch: {}, cardinality_limiter: {limit: 100, metrics: {app.records: 20}}}
connectors:
  logs_to_metrics: {metrics: [{name: app.records, type: counter, dimensions: [run], cardinality_limit: 30}]}
exporters: {testfile: {path: /dev/null}, debug: {}}
service:
  pipelines:
    logs: {receivers: [testgen], processors: [batch], exporters: [testfile, logs_to_metrics]}
    metrics: {receivers: [logs_to_metrics], processors: [batch, cardinality_limiter], exporters: [debug]}
"""


def resolved():
    return resolve(load_config_text(CONFIG), Registry.discover())


def test_the_graph_joins_pipelines_through_a_connector_and_keeps_processors_per_pipeline():
    g = snapshot.graph(resolved())
    keys = {n["key"]: n for n in g["nodes"]}
    assert keys["connector:logs_to_metrics"]["pipelines"] == ["logs", "metrics"]
    assert {"processor:batch@logs", "processor:batch@metrics"} <= set(keys)
    edges = {(e["from"], e["to"]) for e in g["edges"]}
    assert edges == {
        ("receiver:testgen", "processor:batch@logs"),
        ("processor:batch@logs", "exporter:testfile"),
        ("processor:batch@logs", "connector:logs_to_metrics"),
        ("connector:logs_to_metrics", "processor:batch@metrics"),
        ("processor:batch@metrics", "processor:cardinality_limiter@metrics"),
        ("processor:cardinality_limiter@metrics", "exporter:debug"),
    }


class Counting:
    def series_counts(self):
        return {"app.records": 18}


def test_cardinality_rows_pair_each_limit_with_overflow_and_reported_series():
    config = resolved()
    overflow = counters(processor__cardinality_limiter__fathom_cardinality_overflow_points=5)
    overflow.resource_metrics[0].scope_metrics[0].metrics[0].points[0].attributes["metric"] = "other.metric"
    components = [(Kind.PROCESSOR, id, Counting()) for (kind, id) in config.components if id.type == "cardinality_limiter"]
    rows = {(r["component"], r["metric"]): r for r in snapshot.cardinality(config, components, overflow)}
    assert rows[("cardinality_limiter", "app.records")] == {
        "component": "cardinality_limiter", "metric": "app.records", "limit": 20, "series": 18, "overflow": 0.0}
    assert rows[("cardinality_limiter", "other.metric")]["limit"] == 100  # the default limit
    assert rows[("cardinality_limiter", "other.metric")]["overflow"] == 5
    assert rows[("logs_to_metrics", "app.records")]["limit"] == 30


def test_recent_errors_keep_only_the_last_warnings_and_errors():
    handler = RecentErrors(size=3)
    log = logging.getLogger("fathom.test.status")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info("not kept")
        for i in range(5):
            log.warning("warning %d", i)
        log.error("broken")
    finally:
        log.removeHandler(handler)
    assert [e["message"] for e in handler.recent()] == ["broken", "warning 4", "warning 3"]
    assert handler.recent()[0]["level"] == "error"
