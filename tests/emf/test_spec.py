"""collector.emf: every rule of the specification, with its exact reason, message and path."""

import copy

import orjson
import pytest
from aws_embedded_metrics.logger.metrics_context import MetricsContext
from aws_embedded_metrics.serializers.log_serializer import LogSerializer
from aws_embedded_metrics.storage_resolution import StorageResolution

from collector import emf
from collector.emf import Problem, Reason

T = 1_700_000_000_000
D = "$._aws.CloudWatchMetrics[0]"


def event(**root):
    """A valid event with one directive; keyword arguments replace or add root members."""
    doc = {"_aws": {"Timestamp": T, "CloudWatchMetrics": [
        {"Namespace": "App", "Dimensions": [["Route"]], "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}]}]},
        "Route": "/pay", "Latency": 12.5}
    doc.update(root)
    return doc


def with_directive(**members):
    doc = event()
    doc["_aws"]["CloudWatchMetrics"][0].update(members)
    return doc


def only(doc, **kw):
    problems = emf.validate(doc, **kw)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_valid_event_reads_as_typed_directives():
    ev, problems = emf.read_event(event(Latency=[1, 2.5]))
    assert problems == []
    assert ev.timestamp_ms == T
    assert ev.directives == (emf.Directive("App", (("Route",),), (emf.MetricDefinition("Latency", "Milliseconds", 60),)),)
    assert ev.values("Latency") == [1.0, 2.5]


def test_events_from_the_real_aws_client_are_valid():
    ctx = MetricsContext.empty()
    ctx.namespace = "FathomTest"
    ctx.put_dimensions({"Route": "/pay", "Status": "200"})
    ctx.put_metric("Latency", 12.5, "Milliseconds")
    ctx.put_metric("Latency", 13, "Milliseconds")
    ctx.put_metric("Hits", 1, "Count", StorageResolution.HIGH)
    for i in range(150):  # the client splits into events of at most 100 metrics and 100 values
        ctx.put_metric(f"m{i}", i)
    lines = LogSerializer.serialize(ctx)
    assert len(lines) == 2
    for line in lines:
        ev, problems = emf.read_line(line)
        assert problems == [] and ev is not None
    first = emf.read_line(lines[0])[0]
    hits = [m for d in first.directives for m in d.metrics if m.name == "Hits"]
    assert hits == [emf.MetricDefinition("Hits", "Count", 1)]


def test_empty_dimensions_from_the_aws_client_mean_one_empty_set():
    ctx = MetricsContext.empty()
    ctx.put_metric("x", 1)
    ev, problems = emf.read_line(LogSerializer.serialize(ctx)[0])
    assert problems == [] and ev.directives[0].dimension_sets == ((),)


@pytest.mark.parametrize("doc, problem", [
    ([1], Problem(Reason.NOT_OBJECT, "an EMF event must be a JSON object, not an array", "$")),
    ({"a": 1}, Problem(Reason.MISSING_METADATA, "the root has no _aws member", "$")),
    ({"_aws": []}, Problem(Reason.BAD_METADATA, "_aws must be an object, not an array", "$._aws")),
    ({"_aws": {"Timestamp": T}}, Problem(Reason.BAD_DIRECTIVES, "_aws has no CloudWatchMetrics member",
                                          "$._aws.CloudWatchMetrics")),
    ({"_aws": {"Timestamp": T, "CloudWatchMetrics": {}}},
     Problem(Reason.BAD_DIRECTIVES, "CloudWatchMetrics must be an array of directives, not an object",
             "$._aws.CloudWatchMetrics")),
    ({"_aws": {"Timestamp": T, "CloudWatchMetrics": ["x"]}},
     Problem(Reason.BAD_DIRECTIVE, "a directive must be an object, not a string", D)),
])
def test_structure(doc, problem):
    assert only(doc) == problem


@pytest.mark.parametrize("stamp, shown", [("1", '"1"'), (-1, "-1"), (1.5, "1.5"), (True, "true"), (1 << 63, str(1 << 63))])
def test_timestamp_is_a_non_negative_integer_of_milliseconds(stamp, shown):
    doc = event()
    doc["_aws"]["Timestamp"] = stamp
    assert only(doc) == Problem(Reason.BAD_TIMESTAMP, "Timestamp must be a non-negative integer of milliseconds "
                                f"since the epoch, not {shown}", "$._aws.Timestamp")


def test_timestamp_is_required_and_may_be_written_as_an_integral_float():
    doc = event()
    del doc["_aws"]["Timestamp"]
    assert only(doc) == Problem(Reason.BAD_TIMESTAMP, "_aws has no Timestamp member", "$._aws.Timestamp")
    doc["_aws"]["Timestamp"] = float(T)
    assert emf.read_event(doc)[0].timestamp_ms == T


@pytest.mark.parametrize("namespace, message", [
    (None, "namespace must be a string, not null"),
    (" ", "namespace must hold a non-whitespace character"),
    ("x" * 256, "namespace is 256 characters, over the limit of 255"),
    ("a+b", "namespace 'a+b' holds a character outside 0-9 A-Z a-z . - _ / # : and space"),
    ("é", "namespace 'é' holds a character outside 0-9 A-Z a-z . - _ / # : and space"),
    (":a", "namespace ':a' must not start with ':'"),
    ("AWS/EC2", "namespace 'AWS/EC2' uses the prefix 'AWS/' reserved for AWS services"),
])
def test_namespace_rules(namespace, message):
    assert only(with_directive(Namespace=namespace)) == Problem(Reason.BAD_NAMESPACE, message, f"{D}.Namespace")


def test_namespace_limits_pass_at_the_edge():
    assert emf.validate(with_directive(Namespace="x" * 255)) == []
    assert emf.validate(with_directive(Namespace="My App/v1#a:b_c.d-e")) == []


def test_missing_directive_members():
    doc = event()
    doc["_aws"]["CloudWatchMetrics"][0] = {}
    assert emf.validate(doc) == [
        Problem(Reason.BAD_NAMESPACE, "the directive has no Namespace member", f"{D}.Namespace"),
        Problem(Reason.BAD_DIMENSIONS, "the directive has no Dimensions member", f"{D}.Dimensions"),
        Problem(Reason.BAD_METRICS, "the directive has no Metrics member", f"{D}.Metrics"),
    ]


def test_dimension_set_rules():
    keys = [f"d{i}" for i in range(31)]
    doc = with_directive(Dimensions=[keys[:30], keys])
    doc.update({k: "v" for k in keys})
    assert only(doc) == Problem(Reason.TOO_MANY_DIMENSIONS, "31 dimension keys, over the limit of 30",
                                f"{D}.Dimensions[1]")
    assert only(with_directive(Dimensions=["Route"])) == Problem(
        Reason.BAD_DIMENSIONS, "a dimension set must be an array of keys, not a string", f"{D}.Dimensions[0]")
    assert only(with_directive(Dimensions={})) == Problem(
        Reason.BAD_DIMENSIONS, "Dimensions must be an array of dimension sets, not an object", f"{D}.Dimensions")


@pytest.mark.parametrize("key, message", [
    (1, "dimension key must be a string, not a number"),
    ("", "dimension key must hold a non-whitespace character"),
    ("k" * 251, "dimension key is 251 characters, over the limit of 250"),
    ("ключ", "dimension key 'ключ' holds a non-ASCII or control character"),
    ("a\tb", "dimension key 'a\\tb' holds a non-ASCII or control character"),
    (":k", "dimension key ':k' must not start with ':'"),
])
def test_dimension_key_rules(key, message):
    doc = with_directive(Dimensions=[[key]])
    if isinstance(key, str):
        doc[key] = "v"
    assert only(doc) == Problem(Reason.BAD_DIMENSION_NAME, message, f"{D}.Dimensions[0][0]")


@pytest.mark.parametrize("value, message", [
    (200, "dimension 'Route': the value must be a string, not a number"),
    (" ", "dimension 'Route': the value must hold a non-whitespace character"),
    ("v" * 1025, "dimension 'Route': the value is 1025 characters, over the limit of 1024"),
    ("café", "dimension 'Route': the value 'café' holds a non-ASCII or control character"),
])
def test_dimension_value_rules(value, message):
    assert only(event(Route=value)) == Problem(Reason.BAD_DIMENSION_VALUE, message, "$.Route")


def test_dimension_target_must_be_a_root_member_not_a_nested_one():
    doc = with_directive(Dimensions=[["A.a"]])
    doc["A"] = {"a": "x"}
    assert only(doc) == Problem(Reason.MISSING_DIMENSION, "dimension 'A.a' is not a member of the root",
                                f"{D}.Dimensions[0][0]")
    doc["A.a"] = "x"
    assert emf.validate(doc) == []


def test_metric_definition_rules():
    defs = [{"Name": f"m{i}"} for i in range(101)]
    doc = with_directive(Metrics=defs)
    doc.update({f"m{i}": i for i in range(101)})
    assert only(doc) == Problem(Reason.TOO_MANY_METRICS, "101 metric definitions, over the limit of 100", f"{D}.Metrics")
    assert only(with_directive(Metrics=[1])) == Problem(
        Reason.BAD_METRICS, "a metric definition must be an object, not a number", f"{D}.Metrics[0]")
    assert only(with_directive(Metrics=None)) == Problem(
        Reason.BAD_METRICS, "Metrics must be an array of metric definitions, not null", f"{D}.Metrics")


@pytest.mark.parametrize("definition, problem", [
    ({}, Problem(Reason.BAD_METRIC_NAME, "the metric definition has no Name member", f"{D}.Metrics[0].Name")),
    ({"Name": 5}, Problem(Reason.BAD_METRIC_NAME, "metric name must be a string, not a number", f"{D}.Metrics[0].Name")),
    ({"Name": ""}, Problem(Reason.BAD_METRIC_NAME, "metric name must hold a non-whitespace character",
                           f"{D}.Metrics[0].Name")),
    ({"Name": "Latency", "Unit": "Parsecs"},
     Problem(Reason.BAD_UNIT, 'unit "Parsecs" is not a CloudWatch unit', f"{D}.Metrics[0].Unit")),
    ({"Name": "Latency", "Unit": "milliseconds"},
     Problem(Reason.BAD_UNIT, 'unit "milliseconds" is not a CloudWatch unit', f"{D}.Metrics[0].Unit")),
    ({"Name": "Latency", "StorageResolution": 30},
     Problem(Reason.BAD_STORAGE_RESOLUTION, "StorageResolution must be 1 or 60, not 30",
             f"{D}.Metrics[0].StorageResolution")),
    ({"Name": "Latency", "StorageResolution": "1"},
     Problem(Reason.BAD_STORAGE_RESOLUTION, 'StorageResolution must be 1 or 60, not "1"',
             f"{D}.Metrics[0].StorageResolution")),
    ({"Name": "Missing"}, Problem(Reason.MISSING_VALUE, "metric 'Missing' is not a member of the root", "$.Missing")),
])
def test_metric_definition_member_rules(definition, problem):
    assert only(with_directive(Metrics=[definition])) == problem


def test_metric_name_length_limit():
    name = "n" * 256
    doc = with_directive(Metrics=[{"Name": name}])
    doc[name] = 1
    assert only(doc) == Problem(Reason.BAD_METRIC_NAME, "metric name is 256 characters, over the limit of 255",
                                f"{D}.Metrics[0].Name")
    doc = with_directive(Metrics=[{"Name": name[:255]}])
    doc[name[:255]] = 1
    assert emf.validate(doc) == []


def test_every_cloudwatch_unit_and_both_resolutions_pass():
    for unit in emf.UNITS:
        for resolution in emf.STORAGE_RESOLUTIONS:
            assert emf.validate(with_directive(Metrics=[{"Name": "Latency", "Unit": unit,
                                                         "StorageResolution": resolution}])) == []


def test_one_event_gives_a_metric_one_resolution():
    doc = event(Hits=1)
    doc["_aws"]["CloudWatchMetrics"].append(
        {"Namespace": "Other", "Dimensions": [[]], "Metrics": [{"Name": "Latency", "StorageResolution": 1}]})
    assert only(doc) == Problem(
        Reason.CONFLICTING_RESOLUTION, "metric 'Latency' has StorageResolution 60 elsewhere in the event; "
        "one event gives a metric one resolution", "$._aws.CloudWatchMetrics[1].Metrics[0].StorageResolution")


@pytest.mark.parametrize("value, problem", [
    ("12", Problem(Reason.BAD_VALUE, "metric 'Latency' must be a number or an array of numbers, not a string",
                   "$.Latency")),
    ({"Sum": 1}, Problem(Reason.BAD_VALUE, "metric 'Latency' must be a number or an array of numbers, not an object",
                         "$.Latency")),
    (None, Problem(Reason.BAD_VALUE, "metric 'Latency' must be a number or an array of numbers, not null", "$.Latency")),
    (float("nan"), Problem(Reason.BAD_VALUE, "metric 'Latency': nan is not finite", "$.Latency")),
    (2.0 ** 361, Problem(Reason.BAD_VALUE, f"metric 'Latency': {2.0 ** 361!r} is outside CloudWatch's range "
                                           "(magnitude 2^-360 to 2^360)", "$.Latency")),
    (2.0 ** -361, Problem(Reason.BAD_VALUE, f"metric 'Latency': {2.0 ** -361!r} is outside CloudWatch's range "
                                            "(magnitude 2^-360 to 2^360)", "$.Latency")),
    ([1, True], Problem(Reason.BAD_VALUE, "metric 'Latency': true is not a number", "$.Latency[1]")),
    (list(range(101)), Problem(Reason.TOO_MANY_VALUES, "metric 'Latency' has 101 values, over the limit of 100",
                               "$.Latency")),
])
def test_metric_target_rules(value, problem):
    assert only(event(Latency=value)) == problem


@pytest.mark.parametrize("value", [0, -5, 2 ** 62, 2.0 ** 360, list(range(100)), []])
def test_metric_targets_at_the_edges_pass(value):
    assert emf.validate(event(Latency=value)) == []


def test_paths_quote_root_members_that_are_not_plain_names():
    doc = with_directive(Metrics=[{"Name": "p99 latency"}])
    assert only(doc).path == '$["p99 latency"]'


def test_distributions_pass_only_when_allowed():
    dist = {"Values": [1.0, 2.0], "Counts": [3, 1], "Min": 1.0, "Max": 2.0, "Sum": 5.0, "Count": 4}
    assert emf.validate(event(Latency=dist), allow_distributions=True) == []
    assert only(event(Latency=dist)).reason is Reason.BAD_VALUE
    bad = {**dist, "Values": [1.0] * 101, "Counts": [1] * 101}
    assert only(event(Latency=bad), allow_distributions=True) == Problem(
        Reason.TOO_MANY_VALUES, "metric 'Latency': 101 values, over the limit of 100", "$.Latency.Values")
    assert only(event(Latency={"Min": 1, "Max": 2, "Sum": 3}), allow_distributions=True) == Problem(
        Reason.BAD_VALUE, "metric 'Latency': Count is missing or null is not a number", "$.Latency.Count")


def test_every_problem_is_reported_not_only_the_first():
    doc = copy.deepcopy(event(Route=1, Latency="x"))
    doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] = ""
    assert [p.reason for p in emf.validate(doc)] == [Reason.BAD_NAMESPACE, Reason.BAD_DIMENSION_VALUE, Reason.BAD_VALUE]


def test_raw_lines():
    assert emf.read_line(orjson.dumps(event()))[1] == []
    _, problems = emf.read_line(b'{"_aws": ')
    assert [p.reason for p in problems] == [Reason.INVALID_JSON] and problems[0].message.startswith("not JSON: ")


def test_event_size_counts_the_putlogevents_overhead():
    limit = emf.MAX_EVENT_BYTES - emf.EVENT_OVERHEAD_BYTES
    base = orjson.dumps(event(pad=""))
    fits = orjson.dumps(event(pad="x" * (limit - len(base))))
    assert len(fits) == limit and emf.read_line(fits)[1] == []
    over = orjson.dumps(event(pad="x" * (limit - len(base) + 1)))
    assert emf.read_line(over)[1] == [Problem(
        Reason.TOO_LARGE, f"event is {emf.MAX_EVENT_BYTES + 1} bytes with the 26-byte event overhead, "
        f"over the {emf.MAX_EVENT_BYTES}-byte limit", "$")]
    assert emf.event_size_problem(b"x" * 300_000, limit=256 * 1024).reason is Reason.TOO_LARGE


def test_unit_tables_are_inverse_and_cover_the_cloudwatch_enumeration():
    assert len(emf.UNITS) == 27
    assert all(emf.UNIT_BY_UCUM[ucum] == unit for unit, ucum in emf.UCUM_BY_UNIT.items())
    assert emf.UCUM_BY_UNIT["Milliseconds"] == "ms" and emf.UCUM_BY_UNIT["Count"] == "{count}"
    assert emf.UCUM_BY_UNIT["None"] == "" and emf.UCUM_BY_UNIT["Bytes/Second"] == "By/s"
