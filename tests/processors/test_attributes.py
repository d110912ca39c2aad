"""The attributes and resource processors, on logs, metrics and traces, in real pipelines."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from collector.component import Signal
from collector.pdata import LineChunk, Logs
from collector.pdata.anyvalue import attributes_from_proto
from collector.processors.actions import Action, compile_actions
from collector.processors.attributes import AttributesConfig
from collector.processors.matching import MatchProperties, compile_match
from tests.processors.conftest import gauge, log_batch, metric_batch, points, records, span_batch, spans


def apply(actions: list[dict], attrs: dict) -> dict:
    attrs = dict(attrs)
    compile_actions([Action.model_validate(a) for a in actions])(attrs)
    return attrs


def test_insert_update_upsert_follow_presence():
    attrs = {"a": 1}
    assert apply([{"key": "a", "value": 2, "action": "insert"}], attrs) == {"a": 1}
    assert apply([{"key": "b", "value": 2, "action": "insert"}], attrs) == {"a": 1, "b": 2}
    assert apply([{"key": "b", "value": 2, "action": "update"}], attrs) == {"a": 1}
    assert apply([{"key": "a", "value": "x", "action": "update"}], attrs) == {"a": "x"}
    assert apply([{"key": "a", "value": 3, "action": "upsert"}, {"key": "c", "value": True, "action": "upsert"}],
                 attrs) == {"a": 3, "c": True}


def test_from_attribute_and_default_value():
    assert apply([{"key": "b", "from_attribute": "a", "action": "insert"}], {"a": 1}) == {"a": 1, "b": 1}
    assert apply([{"key": "b", "from_attribute": "zz", "action": "insert"}], {"a": 1}) == {"a": 1}
    assert apply([{"key": "b", "from_attribute": "zz", "default_value": "d", "action": "insert"}], {}) == {"b": "d"}


def test_delete_and_hash_by_key_and_pattern():
    attrs = {"password": "p", "internal.x": 1, "internal.y": 2, "keep": 3}
    assert apply([{"key": "password", "action": "delete"}, {"pattern": "^internal\\.", "action": "delete"}],
                 attrs) == {"keep": 3}
    hashed = apply([{"key": "email", "action": "hash"}], {"email": "a@b.c"})
    assert hashed == {"email": hashlib.sha256(b"a@b.c").hexdigest()}
    assert apply([{"key": "n", "action": "hash"}], {"n": 5}) == {"n": hashlib.sha256(b"5").hexdigest()}


def test_extract_upserts_named_groups_and_keeps_the_source():
    out = apply([{"key": "url", "pattern": "^https?://(?P<host>[^/:]+)(:(?P<port>\\d+))?", "action": "extract"}],
                {"url": "http://example.com/x", "host": "old"})
    assert out == {"url": "http://example.com/x", "host": "example.com"}


@pytest.mark.parametrize("to, before, after", [
    ("int", "42", 42), ("int", 4.9, 4), ("int", "4.5", 4), ("double", "1.5", 1.5), ("double", 2, 2.0),
    ("string", 7, "7"), ("string", True, "true"), ("bool", "true", True), ("bool", 0, False),
    ("int", "nope", "nope"), ("bool", "maybe", "maybe"),
])
def test_convert(to, before, after):
    out = apply([{"key": "k", "action": "convert", "converted_type": to}], {"k": before})
    assert out["k"] == after and type(out["k"]) is type(after)


@pytest.mark.parametrize("action, message", [
    ({"action": "insert", "key": "a"}, "needs `value`"),
    ({"action": "insert", "value": 1}, "needs `key`"),
    ({"action": "insert", "key": "a", "value": 1, "from_attribute": "b"}, "not both"),
    ({"action": "extract", "key": "a", "pattern": "(x)"}, "no named groups"),
    ({"action": "delete", "pattern": "("}, "invalid pattern"),
    ({"action": "convert", "key": "a"}, "converted_type"),
    ({"action": "drop", "key": "a"}, "insert"),
])
def test_bad_actions_say_what_is_wrong(action, message):
    with pytest.raises(ValidationError, match=message):
        Action.model_validate(action)


def test_match_properties_are_checked_against_the_signal():
    props = MatchProperties.model_validate({"match_type": "strict", "span_names": ["x"]})
    with pytest.raises(ValueError, match="span_names cannot match logs"):
        compile_match(props, None, Signal.LOGS)
    with pytest.raises(ValidationError, match="at least one property"):
        MatchProperties.model_validate({"match_type": "strict"})


async def test_logs_include_exclude_in_a_pipeline(run_pipeline):
    batch = log_batch([
        {"body": "a", "attributes": {"env": "dev"}, "severity_number": 17},
        {"body": "b", "attributes": {"env": "prod"}, "severity_number": 17},
        {"body": "c", "attributes": {"env": "prod"}, "severity_number": 9},
    ], resource={"service.name": "api"})
    out = await run_pipeline(
        "attributes: {actions: [{key: tagged, value: true, action: insert}],"
        " include: {match_type: strict, log_severity_number: {min: 13}},"
        " exclude: {match_type: regexp, attributes: [{key: env, value: '^de'}]}}",
        "logs", [batch])
    tagged = [attributes_from_proto(r.attributes).get("tagged") for r in records(out)]
    assert tagged == [None, True, None]


async def test_traces_match_services_and_span_kinds(run_pipeline):
    batch = span_batch([{"name": "GET /", "kind": 2}, {"name": "db", "kind": 3}], resource={"service.name": "api"})
    out = await run_pipeline(
        "attributes: {actions: [{key: user.id, action: hash}, {key: srv, value: 1, action: upsert}],"
        " include: {match_type: strict, services: [api], span_kinds: [SPAN_KIND_SERVER]}}",
        "traces", [batch])
    assert [attributes_from_proto(s.attributes) for s in spans(out)] == [{"srv": 1}, {}]


async def test_metrics_points_are_edited_per_matching_metric(run_pipeline):
    batch = metric_batch([gauge("cpu", ({"core": "1"}, 1.0)), gauge("mem", ({}, 2.0))])
    out = await run_pipeline(
        "attributes: {actions: [{key: core, action: convert, converted_type: int}, {key: x, value: y, action: insert}],"
        " include: {match_type: regexp, metric_names: ['^cp']}}",
        "metrics", [batch])
    assert [(n, dict(p.attributes)) for n, p in points(out)] == [("cpu", {"core": 1, "x": "y"}), ("mem", {})]


async def test_line_chunks_stay_chunks_and_the_original_is_untouched(run_pipeline):
    chunk = LineChunk(b'{"a": 1}\n{"a": 2}', 2, resource={"service.name": "x"}, attributes={"log.file.name": "f"})
    batch = Logs(chunks=[chunk])
    out = await run_pipeline(
        "attributes: {actions: [{key: log.file.name, action: delete}, {key: env, value: prod, action: insert}]}",
        "logs", [batch])
    (got,) = out
    assert got.chunks is not None and dict(got.chunks[0].attributes) == {"env": "prod"}
    assert dict(chunk.attributes) == {"log.file.name": "f"}
    assert got.item_count() == 2


async def test_resource_processor_on_every_signal(run_pipeline):
    config = ("resource: {attributes: [{key: env, value: prod, action: upsert},"
              " {key: host.name, from_attribute: node, action: insert}, {key: node, action: delete}]}")
    want = {"env": "prod", "host.name": "n1"}
    out = await run_pipeline(config, "logs", [log_batch([{"body": "x"}], resource={"node": "n1"})])
    assert attributes_from_proto(out[0].request.resource_logs[0].resource.attributes) == want
    out = await run_pipeline(config, "traces", [span_batch([{"name": "s"}], resource={"node": "n1"})])
    assert attributes_from_proto(out[0].request.resource_spans[0].resource.attributes) == want
    out = await run_pipeline(config, "metrics", [metric_batch([gauge("g", ({}, 1))], resource={"node": "n1"})])
    assert dict(out[0].resource_metrics[0].resource.attributes) == want
    chunk = Logs(chunks=[LineChunk(b"x", 1, resource={"node": "n1"})])
    out = await run_pipeline(config, "logs", [chunk])
    assert dict(out[0].chunks[0].resource) == want


def test_empty_config_validates():
    AttributesConfig.model_validate({})
