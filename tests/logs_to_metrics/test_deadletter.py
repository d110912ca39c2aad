"""Bad records go on as logs, with their reason, when the connector feeds a logs pipeline."""

from __future__ import annotations

import textwrap

import pytest

from collector.component import Signal
from collector.config import ConfigErrors
from collector.connectors.logs_to_metrics import factory
from collector.connectors.logs_to_metrics.connector import Pipeline
from collector.connectors.logs_to_metrics.deadletter import ERROR_ATTRIBUTE
from collector.pdata import LineChunk, Logs
from collector.pdata.anyvalue import attributes_from_proto, from_anyvalue, to_anyvalue
from collector.service import Service
from tests.core.components import Recorder, Source
from tests.core.conftest import _clean, registry, resolve_text  # noqa: F401  (fixtures)

from .conftest import Sink, config, settings
from .test_connector import otlp_request, points

RULES = config("""
metrics:
  - {name: hits, type: counter, dimensions: [k]}
  - {name: size, type: counter, value: n, dimensions: [k]}
""")


def dead_lines(logs: Logs) -> list[tuple[bytes, dict]]:
    return [(line, dict(chunk.attributes)) for chunk in logs.chunks for line in chunk.lines()]


def test_bad_lines_keep_their_bytes_and_attributes_in_order(json_twin):
    pipeline = Pipeline(RULES, dead_letter=True)
    data = b'{"k":"a","n":1}\n{oops\n\n{"k":"a","n":"x"}\n{"k":"a","n":-1}\n[1]\n{"k":"b","n":2}'
    dead = pipeline.consume(Logs(chunks=[LineChunk(data, 7, {"host": "h"}, {"stream": "out"})]), 1)
    assert dead_lines(dead) == [
        (b"{oops", {"stream": "out", ERROR_ATTRIBUTE: "invalid_json"}),
        (b'{"k":"a","n":"x"}', {"stream": "out", ERROR_ATTRIBUTE: "wrong_type"}),
        (b'{"k":"a","n":-1}', {"stream": "out", ERROR_ATTRIBUTE: "negative_value"}),
        (b"[1]", {"stream": "out", ERROR_ATTRIBUTE: "not_object"}),
    ]
    assert {chunk.resource["host"] for chunk in dead.chunks} == {"h"}
    assert points(pipeline.flush(2))["hits"][(("k", "a"),)].value == 3  # the rules that could still count did
    assert pipeline.consume(Logs(chunks=[LineChunk(b'{"k":"a","n":1}', 1)]), 3) is None  # nothing bad, nothing sent


def test_bad_otlp_records_are_copied_with_resource_and_scope():
    pipeline = Pipeline(RULES, dead_letter=True)
    request = otlp_request([('{"k":"a","n":1}', {}), ("not json", {"stream": "err"}), ({"k": "m", "n": "x"}, {}),
                            (b'{"k":"b"}', {}), ('{"k":"c","n":{}}', {})])
    request.resource_logs[0].resource.attributes.add(key="service.name").value.string_value = "api"
    request.resource_logs[0].scope_logs[0].scope.name = "app"
    dead = pipeline.consume(Logs(request), 1)
    (rl,) = dead.request.resource_logs
    assert attributes_from_proto(rl.resource.attributes) == {"service.name": "api"}
    (sl,) = rl.scope_logs
    assert sl.scope.name == "app"
    got = [(from_anyvalue(r.body), attributes_from_proto(r.attributes)) for r in sl.log_records]
    assert got == [
        ("not json", {"stream": "err", ERROR_ATTRIBUTE: "invalid_json"}),
        ({"k": "m", "n": "x"}, {ERROR_ATTRIBUTE: "wrong_type"}),
        (b'{"k":"b"}', {ERROR_ATTRIBUTE: "missing_value"}),
        ('{"k":"c","n":{}}', {ERROR_ATTRIBUTE: "wrong_type"}),
    ]


def test_an_invalid_emf_line_is_passed_on():
    pipeline = Pipeline(config("{parser: emf}"), dead_letter=True)
    bad = b'{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Dimensions":[],"Metrics":[]}]}}'
    (line, attributes), = dead_lines(pipeline.consume(Logs(chunks=[LineChunk(b'{"x":1}\n' + bad, 2)]), 1))
    assert line == bad and attributes[ERROR_ATTRIBUTE] == "emf_bad_namespace"


async def test_a_refusing_dead_letter_pipeline_does_not_refuse_the_batch():
    from collector.errors import RetryableError

    class Refusing(Sink):
        async def consume(self, batch):
            raise RetryableError("full")

    s = settings()
    connector = factory.create(s, RULES, {Signal.METRICS: Sink(), Signal.LOGS: Refusing()})
    await connector.consume(Logs(chunks=[LineChunk(b"{oops\n{}", 2)]))
    assert s.telemetry.counts[("fathom_logs_to_metrics_dead_letters_refused", ())] == 2  # both lines: {} has no n


SERVICE = textwrap.dedent("""
    receivers: {source: {}}
    connectors:
      logs_to_metrics: {metrics: [{name: hits, type: counter}]}
    exporters: {recorder: {}, recorder/dead: {}}
    service:
      telemetry: {metrics: {level: none}}
      pipelines:
        logs: {receivers: [source], exporters: [logs_to_metrics]}
        %s: {receivers: [logs_to_metrics], exporters: [recorder/dead]}
        metrics: {receivers: [logs_to_metrics], exporters: [recorder]}
""")


async def test_a_logs_pipeline_after_the_connector_gets_the_bad_records(resolve_text):  # noqa: F811
    service = Service(resolve_text(SERVICE % "logs/dead"))
    await service.start()
    await Source.instances["source"].send(Logs(chunks=[LineChunk(b'{"a":1}\n{oops\n{}', 3)]))
    await service.shutdown()
    (dead,) = Recorder.instances["recorder/dead"].batches
    assert dead_lines(dead) == [(b"{oops", {ERROR_ATTRIBUTE: "invalid_json"})]
    (metrics,) = Recorder.instances["recorder"].batches
    assert points(metrics)["hits"][()].value == 2


def test_the_connector_cannot_feed_a_traces_pipeline(resolve_text):  # noqa: F811
    with pytest.raises(ConfigErrors) as info:
        resolve_text(SERVICE % "traces/dead")
    assert 'connector "logs_to_metrics" cannot feed traces pipeline "traces/dead"' in str(info.value)
