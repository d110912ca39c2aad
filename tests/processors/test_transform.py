"""The transform processor: its statement language, errors that point into it, and real pipelines."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from collector.component import Signal
from collector.expr import ExpressionError
from collector.pdata.anyvalue import attributes_from_proto
from collector.processors.transform import TransformConfig, parse_statement
from tests.processors.conftest import gauge, log_batch, metric_batch, points, records, span_batch, spans


async def test_logs_statements_run_in_order(run_pipeline):
    batch = log_batch([
        {"body": {"user": {"id": 7}, "msg": "x" * 10}, "attributes": {"password": "p", "uid": 1, "message": "y" * 10}},
        {"body": "plain", "attributes": {"uid": 2}},
    ], resource={"service.name": "checkout", "pid": 9})
    config = """transform:
    logs:
      - set(attributes.env, "prod") where resource.service.name == "checkout"
      - set(attributes.user, user.id) where exists(user.id)
      - delete(attributes.password)
      - truncate(attributes.message, 4)
      - rename(attributes.uid, "user.uid")
      - set(attributes.seen, true) where attributes["user.uid"] == 2
      - delete(resource.pid) where resource.service.name == "checkout"
      - set(resource.team, 'payments, core')"""
    out = await run_pipeline(config, "logs", [batch], names=["transform"])
    first, second = (attributes_from_proto(r.attributes) for r in records(out))
    assert first == {"env": "prod", "user": 7, "message": "yyyy", "user.uid": 1}
    assert second == {"env": "prod", "user.uid": 2, "seen": True}
    resource = attributes_from_proto(out[0].request.resource_logs[0].resource.attributes)
    assert resource == {"service.name": "checkout", "team": "payments, core"}


async def test_traces_rename_spans_and_metrics_points(run_pipeline):
    out = await run_pipeline("""transform: {traces: ['set(name, "health") where attributes["http.target"] == "/healthz"',
                                 'truncate(name, 3)']}""", "traces",
                             [span_batch([{"name": "GET /healthz", "attributes": {"http.target": "/healthz"}},
                                          {"name": "GET /x"}])])
    assert [s.name for s in spans(out)] == ["hea", "GET"]
    out = await run_pipeline("""transform: {metrics: ['set(attributes.big, true) where value > 5 and name == "g"']}""",
                             "metrics", [metric_batch([gauge("g", ({}, 1.0), ({}, 9.0))])])
    assert [dict(p.attributes) for _, p in points(out)] == [{}, {"big": True}]


@pytest.mark.parametrize("text, signal, message, column", [
    ("sett(attributes.a, 1)", Signal.LOGS, "expected set(...)", 1),
    ("set(attributes.a)", Signal.LOGS, "set takes 2 argument", 4),
    ("delete(attributes.a) when x", Signal.LOGS, "expected 'where'", 22),
    ("delete(attributes.a) where x ==", Signal.LOGS, "expected a field or a value", 32),
    ("set(name, 'x')", Signal.LOGS, "cannot change 'name'", 5),
    ("set(attributes.a, nme)", Signal.TRACES, "no field 'nme'", 19),
    ("truncate(attributes.a, -1)", Signal.LOGS, "truncate takes a length", 23),
    ("rename(attributes.a, b)", Signal.LOGS, "rename takes", 21),
    ("set(resource.a, 1) where attributes.b == 1", Signal.LOGS, "can only read resource", 26),
    ("set(attributes.a, 'unterminated)", Signal.LOGS, "unclosed", 4),
])
def test_errors_point_at_the_column(text, signal, message, column):
    with pytest.raises(ExpressionError, match=message) as info:
        parse_statement(text, signal)
    assert info.value.column == column


def test_config_rejects_bad_statements_with_a_caret():
    with pytest.raises(ValidationError, match=r"\^"):
        TransformConfig.model_validate({"logs": ["delete(attributes.a) where a =="]})


async def test_logs_read_the_records_own_fields(run_pipeline):
    batch = log_batch([{"body": "a", "severity_text": "ERROR", "severity_number": 17},
                       {"body": "b", "severity_text": "INFO", "severity_number": 9}])
    config = """transform: {logs: ['set(attributes.level, record.severity_text) where record.severity_number >= 17']}"""
    out = await run_pipeline(config, "logs", [batch])
    assert [attributes_from_proto(r.attributes) for r in records(out)] == [{"level": "ERROR"}, {}]


@pytest.mark.parametrize("text, column", [
    ("set(attributes.a,  record.sev)", 20),
    ("delete(attributes.a) where x == 1 and record.sev == 1", 39),
    ("set(resource.a, record.severity_text)", 17),
])
def test_record_fields_are_checked_and_errors_carry_one_bare_message(text, column):
    with pytest.raises(ExpressionError) as info:
        parse_statement(text, Signal.LOGS)
    assert info.value.column == column
    assert str(info.value).count(" at column ") == 1 and not info.value.message.endswith("^")
