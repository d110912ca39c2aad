"""The filter processor on logs (OTLP and raw lines), metrics and traces, in real pipelines."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from collector.pdata import LineChunk, Logs
from collector.pdata.metrics import Metrics
from collector.processors.filter import FilterConfig
from collector.telemetry import Telemetry
from tests.processors.conftest import gauge, log_batch, metric_batch, points, records, span_batch, spans


async def test_logs_exclude_by_body_attributes_and_resource(run_pipeline):
    batch = log_batch([
        {"body": {"level": "debug", "msg": "a"}},
        {"body": '{"level": "info", "msg": "b"}'},
        {"body": "plain text", "attributes": {"drop": True}},
        {"body": "kept text"},
    ], resource={"service.name": "api"})
    config = """filter: {logs: {exclude: ['level == "debug"', 'attributes.drop']}}"""
    out = await run_pipeline(config, "logs", [batch])
    assert [r.body.string_value or "map" for r in records(out)] == ['{"level": "info", "msg": "b"}', "kept text"]


async def test_logs_include_keeps_only_matches_and_empty_batches_are_not_sent(run_pipeline):
    telemetry = Telemetry()
    config = """filter: {logs: {include: 'resource.service.name == "api"'}}"""
    out = await run_pipeline(config, "logs", [log_batch([{"body": "x"}], resource={"service.name": "web"}),
                                              log_batch([{"body": "y"}], resource={"service.name": "api"})],
                             telemetry=telemetry)
    assert [r.body.string_value for r in records(out)] == ["y"]
    assert len(out) == 1
    assert len(out[0].request.resource_logs) == 1
    filtered = {m.name: sum(p.value for p in m.points) for _, _, m in telemetry.collect().iter_metrics()}
    assert filtered["otelcol_processor_filter_logs_filtered"] == 1


async def test_raw_lines_stay_raw(run_pipeline):
    chunk = LineChunk(b'{"status": 200}\n{"status": 500}\n{"status": 404}', 3, resource={"r": 1})
    out = await run_pipeline("filter: {logs: {exclude: 'status < 400'}}", "logs", [Logs(chunks=[chunk])])
    (got,) = out
    assert got.chunks is not None and got.chunks[0].data == b'{"status": 500}\n{"status": 404}'
    assert got.item_count() == 2 and dict(got.chunks[0].resource) == {"r": 1}
    multi = LineChunk(b"a\nb" + b"c" + b"d\ne", 3, ends=[3, 4, 7])
    out = await run_pipeline("filter: {logs: {exclude: 'body == \"c\"'}}", "logs", [Logs(chunks=[multi])])
    assert list(out[0].chunks[0].lines()) == [b"a\nb", b"d\ne"]


async def test_metrics_drop_points_and_emptied_metrics(run_pipeline):
    batch = metric_batch([gauge("go_gc_count", ({}, 1)), gauge("http", ({"code": "200"}, 1), ({"code": "500"}, 2))])
    config = """filter: {metrics: {exclude: ['name matches "^go_gc_"', 'attributes.code == "200"']}}"""
    out = await run_pipeline(config, "metrics", [batch])
    assert [(n, dict(p.attributes), p.value) for n, p in points(out)] == [("http", {"code": "500"}, 2)]
    assert [m.name for _, _, m in out[0].iter_metrics()] == ["http"]


async def test_metrics_untouched_batch_keeps_its_bytes(run_pipeline):
    from collector.pdata.otlp_metrics import encode

    raw = encode(metric_batch([gauge("a", ({}, 1))]))
    out = await run_pipeline("filter: {metrics: {exclude: 'value > 5'}}", "metrics", [Metrics(otlp_bytes=raw)])
    assert out[0].otlp_bytes == raw


async def test_traces_include_by_span_fields(run_pipeline):
    batch = span_batch([
        {"name": "fast", "kind": 2, "start": 0, "end": 5_000_000},
        {"name": "slow", "kind": 2, "start": 0, "end": 500_000_000},
        {"name": "client", "kind": 3, "start": 0, "end": 500_000_000},
    ])
    config = """filter: {traces: {include: 'duration_ms > 100 and kind == "server"'}}"""
    out = await run_pipeline(config, "traces", [batch])
    assert [s.name for s in spans(out)] == ["slow"]


@pytest.mark.parametrize("config, message", [
    ({"logs": {"exclude": 'level == "a" and'}}, "column 17"),
    ({"traces": {"exclude": ["name == 1", 'nme == "x"']}}, "traces items have no field 'nme'"),
    ({"metrics": {"include": 'type == "sum" and valu > 1'}}, "at column 19"),
    ({"logs": {"drop": "x"}}, "Extra inputs"),
])
def test_errors_point_into_the_expression(config, message):
    with pytest.raises(ValidationError, match=message):
        FilterConfig.model_validate(config)


async def test_logs_drop_by_the_records_own_fields(run_pipeline):
    def batch():
        return log_batch([{"body": {"msg": "a"}, "severity_text": "DEBUG", "severity_number": 5},
                          {"body": {"msg": "b", "record": {"severity_text": "DEBUG"}}, "severity_text": "INFO"},
                          {"body": "c", "severity_text": "ERROR", "severity_number": 17}])

    config = """filter: {logs: {exclude: 'record.severity_text == "DEBUG" or record.severity_number >= 17'}}"""
    out = await run_pipeline(config, "logs", [batch()])
    assert [r.severity_text for r in records(out)] == ["INFO"]  # a body key "record" is body.record
    config = """filter: {logs: {exclude: 'body.record.severity_text == "DEBUG"'}}"""
    assert [r.severity_text for r in records(await run_pipeline(config, "logs", [batch()]))] == ["DEBUG", "ERROR"]


async def test_raw_lines_have_no_record_fields(run_pipeline):
    chunk = LineChunk(b'{"msg": "a"}\n{"msg": "b"}', 2)
    config = """filter: {logs: {exclude: 'record.severity_text == ""'}}"""
    out = await run_pipeline(config, "logs", [Logs(chunks=[chunk])])
    assert out[0].chunks[0].count == 2


def test_an_unknown_record_field_points_at_its_column():
    with pytest.raises(ValidationError, match="no field 'record.severity'") as info:
        FilterConfig.model_validate({"logs": {"exclude": 'level == "x" or record.severity == "DEBUG"'}})
    assert "at column 17" in str(info.value)
