"""The connector end to end: config validation, rules, temporality, cardinality, OTLP input."""

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from pydantic import ValidationError

from collector.component import Signal
from collector.connectors.logs_to_metrics import factory, replay
from collector.connectors.logs_to_metrics.connector import BAD_RECORDS, Pipeline
from collector.pdata import LineChunk, Logs
from collector.pdata.anyvalue import to_anyvalue

from .conftest import Sink, config, settings

# Every test here runs over both twins: the compiled scanner holding its series, and scan_py with Aggregator.
pytestmark = pytest.mark.usefixtures("json_twin")

RULES = """
metrics:
  - {name: req, type: counter, dimensions: [service, {name: code, field: http.status, default: unknown}]}
  - name: lat
    type: histogram
    value: latency_ms
    unit: ms
    buckets: [5, 10, 25]
    dimensions: [service, {field: region, on_missing: skip}]
    where: 'level == "error" or latency_ms > 20'
"""


def points(metrics):
    return {m.name: {tuple(sorted(p.attributes.items())): p for p in m.points} for _, _, m in metrics.iter_metrics()}


def test_factory_declares_the_connector():
    assert factory.type == "logs_to_metrics"
    assert factory.connects(Signal.LOGS, Signal.METRICS)


@pytest.mark.parametrize(
    "text, words",
    [
        ("metrics: [{name: a, type: histogram, value: v}]", "needs `buckets`"),
        ("metrics: [{name: a, type: histogram, value: v, buckets: [2, 1]}]", "strictly increasing"),
        ("metrics: [{name: a, type: gauge}]", "needs `value`"),
        ("metrics: [{name: a, type: counter, where: 'x =='}]", "at column 5"),
        ("metrics: [{name: a, type: counter, dimensions: ['a..b']}]", "expected a field name"),
        ("metrics: [{name: a, type: counter, colour: red}]", "Extra inputs are not permitted"),
        ("{parser: regex, pattern: '(x)', metrics: [{name: a, type: counter}]}", "named groups"),
        ("metrics: [{name: a, type: counter}, {name: a, type: counter}]", "repeat"),
        ("{max_staleness: 5 minutes, metrics: [{name: a, type: counter}]}", "invalid duration"),
    ],
)
def test_config_errors_are_clear(text, words):
    with pytest.raises(ValidationError) as info:
        config(text)
    assert words in str(info.value)


def test_rules_over_lines():
    lines = [
        b'{"service":"a","http":{"status":200},"latency_ms":30,"level":"info","region":"eu"}',
        b'{"service":"a","latency_ms":3,"level":"error","region":"eu"}',
        b'{"service":"a","latency_ms":3,"level":"error"}',  # no region: skipped by lat
        b'{"service":"b","latency_ms":"x","level":"error","region":"eu"}',  # wrong type for lat
        b"{oops", b"", b"[]",
    ]
    metrics, bad = replay(config(RULES), [b"\n".join(lines)], now_ns=5)
    got = points(metrics)
    assert {k: p.value for k, p in got["req"].items()} == {
        (("code", "200"), ("service", "a")): 1,
        (("code", "unknown"), ("service", "a")): 2,
        (("code", "unknown"), ("service", "b")): 1,
    }
    hist = got["lat"][(("region", "eu"), ("service", "a"))]
    assert (hist.count, hist.sum, hist.bucket_counts, hist.min, hist.max) == (2, 33.0, [1, 0, 0, 1], 3.0, 30.0)
    assert bad == {"invalid_json": 1, "not_object": 1, "wrong_type": 1}


def test_timestamps_from_a_field():
    cfg = config("{timestamp: {field: t, format: epoch_ms}, metrics: [{name: a, type: counter}]}")
    metrics, bad = replay(cfg, [b'{"t": 1000}\n{"t": 2000.5}\n{"t": "x"}\n{}'], now_ns=1)
    (p,) = points(metrics)["a"].values()
    assert (p.start_time_ns, p.time_ns, p.value) == (1_000_000_000, 2_000_500_000, 2)
    assert bad == {"bad_timestamp": 2}
    cfg = config("{timestamp: {field: t}, metrics: [{name: a, type: counter}]}")
    metrics, bad = replay(cfg, [b'{"t": "2024-02-29T12:00:00.5+01:00"}\n{"t": "2023-02-29T00:00:00Z"}'])
    (p,) = points(metrics)["a"].values()
    assert p.time_ns == 1709204400_500_000_000 and bad == {"bad_timestamp": 1}


def test_cumulative_keeps_start_and_expires_idle_series():
    p = Pipeline(config("{max_staleness: 10s, metrics: [{name: a, type: counter, value: n, dimensions: [k]}]}"))
    p.consume(Logs(chunks=[LineChunk(b'{"k":"x","n":2}', 1)]), 100)
    p.flush(1_000)
    p.consume(Logs(chunks=[LineChunk(b'{"k":"x","n":3}\n{"k":"y","n":1}', 2)]), 5_000_000_000)
    got = points(p.flush(5_000_000_000))["a"]
    x = got[(("k", "x"),)]
    assert (x.value, x.start_time_ns, x.time_ns) == (5.0, 100, 5_000_000_000)
    p.consume(Logs(chunks=[LineChunk(b'{"k":"y","n":1}', 1)]), 9_000_000_000)
    got = points(p.flush(16_000_000_000))["a"]
    assert list(got) == [(("k", "y"),)]  # x idle since t=5s: expired at t=16s; y seen at t=9s stays


def test_delta_reports_only_the_interval():
    p = Pipeline(config("{temporality: delta, metrics: [{name: a, type: counter, dimensions: [k]}]}"))
    p.consume(Logs(chunks=[LineChunk(b'{"k":"x"}', 1)]), 1)
    assert points(p.flush(2))["a"][(("k", "x"),)].value == 1
    assert p.flush(3).item_count() == 0


def test_cardinality_limit_folds_new_series_and_counts_them():
    overflowed = []
    p = Pipeline(config("metrics: [{name: a, type: counter, dimensions: [k], cardinality_limit: 3}]"),
                 lambda name, n: overflowed.append((name, n)))
    p.consume(Logs(chunks=[LineChunk(b"\n".join(b'{"k":%d}' % i for i in range(5)), 5)]), 1)
    p.flush(2)
    p.consume(Logs(chunks=[LineChunk(b'{"k":0}\n{"k":9}', 2)]), 3)
    got = points(p.flush(4))["a"]
    assert {k: v.value for k, v in got.items()} == {
        (("k", "0"),): 2, (("k", "1"),): 1, (("otel.metric.overflow", "true"),): 4,
    }
    assert overflowed == [("a", 3), ("a", 1)]


def test_logfmt_and_regex_parsers():
    cfg = config("{parser: logfmt, metrics: [{name: a, type: counter, dimensions: [svc], where: 'status >= 500'}]}")
    metrics, bad = replay(cfg, [b'svc=api status=503 msg="a \\"b\\""\nsvc=api status=200\n"broken\n\xff=1'])
    assert {k: p.value for k, p in points(metrics)["a"].items()} == {(("svc", "api"),): 1}
    assert bad == {"no_match": 1, "invalid_utf8": 1}
    cfg = config(r"""{parser: regex, pattern: '(?P<method>[A-Z]+) (?P<code>\d+)',
                      metrics: [{name: a, type: counter, dimensions: [method], where: 'code == 404'}]}""")
    metrics, bad = replay(cfg, [b"GET 404\nPUT 200\nnothing"])
    assert {k: p.value for k, p in points(metrics)["a"].items()} == {(("method", "GET"),): 1}
    assert bad == {"no_match": 1}


async def test_lifecycle_otlp_records_and_telemetry():
    sink, s = Sink(), settings()
    cfg = config("metrics: [{name: a, type: counter, dimensions: [resource.service.name, attributes.k, x]}]")
    conn = factory.create(s, cfg, {Signal.METRICS: sink})
    await conn.shutdown()  # before start: safe
    conn = factory.create(s, cfg, {Signal.METRICS: sink})
    await conn.start(None)
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    kv = rl.resource.attributes.add(key="service.name")
    to_anyvalue("api", kv.value)
    records = rl.scope_logs.add().log_records
    r1 = records.add()
    to_anyvalue({"x": 1}, r1.body)
    to_anyvalue("v", r1.attributes.add(key="k").value)
    records.add().body.string_value = '{"x": 2}'
    records.add().body.string_value = "{bad"
    await conn.consume(Logs(req))
    await conn.shutdown()
    await conn.shutdown()
    (batch,) = sink.batches
    got = points(batch)["a"]
    assert got[(("attributes.k", "v"), ("resource.service.name", "api"), ("x", "1"))].value == 1
    assert got[(("resource.service.name", "api"), ("x", "2"))].value == 1
    assert s.telemetry.counts == {(BAD_RECORDS, (("reason", "invalid_json"),)): 1}


def otlp_request(records):
    """(body, attributes) pairs as one OTLP request; a dict body is a map, None no body."""
    request = ExportLogsServiceRequest()
    log_records = request.resource_logs.add().scope_logs.add().log_records
    for body, attributes in records:
        record = log_records.add()
        for key, value in attributes.items():
            kv = record.attributes.add()
            kv.key = key
            to_anyvalue(value, kv.value)
        if isinstance(body, bytes):
            record.body.bytes_value = body
        elif body is not None:
            to_anyvalue(body, record.body)
    return request


def test_otlp_records_scanned_in_runs_match_records_scanned_one_by_one(scanner_class):
    cfg = config("""
metrics:
  - {name: reqs, type: counter, dimensions: [route, attributes.stream]}
  - {name: last, type: gauge, value: v, dimensions: [route]}
  - {name: lat, type: histogram, value: v, buckets: [1, 10], where: 'attributes.stream != "err"'}
""")
    out, err = {"stream": "out"}, {"stream": "err", "other": 1}
    records = [
        ('{"route": "/a", "v": 1}', out), ('{"route": "/a", "v": 2}', {**out, "unread": "x"}),
        (b'{"route": "/a", "v": 3}', out), ('{"route": "/a",\n "v": 4}', err), ("", err), ("not json", err),
        ({"route": "/m", "v": 5}, out), ('{"route": "/b", "v": 6}', out), (None, {"stream": "out", "route": 1}),
        ('{"route": "/a", "v": 7}', err), ('[1]', out), ('{"route": "/a", "v": 8}', {"stream": "out", "x": [1]}),
    ]

    def run(requests):
        pipeline = Pipeline(cfg)
        for request in requests:
            pipeline.consume(Logs(request=request), 10**18)
        points = [(m.name, repr(p)) for _, _, m in pipeline.flush(10**18).iter_metrics() for p in m.points]
        return points, pipeline.pop_bad()

    batched = run([otlp_request(records)])
    assert batched == run([otlp_request([r]) for r in records])
    assert batched[1] == {"invalid_json": 1, "not_object": 1, "missing_value": 2}
    assert [p for name, p in batched[0] if name == "last" and "'/a'" in p][0].count("value=8") == 1  # order kept: the last record of /a wins


async def test_series_counts_per_metric_for_the_status_page():
    from collector.extensions.status.snapshot import ReportsCardinality

    cfg = config("""
metrics:
  - {name: a, type: counter, dimensions: [k], cardinality_limit: 2}
  - {name: b, type: counter}
""")
    connector = factory.create(settings(), cfg, {Signal.METRICS: Sink()})
    assert isinstance(connector, ReportsCardinality) and connector.series_counts() == {}
    await connector.consume(Logs(chunks=[LineChunk(b'{"k":1}\n{"k":2}\n{"k":3}', 3)]))
    await connector.flush()
    assert connector.series_counts() == {"a": 2, "b": 1}  # k=1 and the overflow series
    await connector.shutdown()


def test_a_dimension_value_spelled_like_the_overflow_attribute_is_its_own_series():
    p = Pipeline(config("metrics: [{name: a, type: counter, dimensions: [k], cardinality_limit: 2}]"))
    p.consume(Logs(chunks=[LineChunk(b'{"k":"otel.metric.overflow"}\n{"k":"x"}\n{"k":"y"}', 3)]), 1)
    got = points(p.flush(2))["a"]
    assert {k: v.value for k, v in got.items()} == {
        (("k", "otel.metric.overflow"),): 1, (("otel.metric.overflow", "true"),): 2,
    }
