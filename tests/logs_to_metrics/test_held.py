"""The compiled scanner's held series against the twin's dict state, through whole pipelines.

Random runs of scans, OTLP records with map bodies (the twin scanner's
intervals, merged into the held tables), flushes and reloads, under
cardinality limits, staleness and both temporalities: both pipelines must
emit the same points, in the same order, count the same overflow, and
hand their series to a successor of either kind.
"""

from __future__ import annotations

import os
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

import _fastpath
from collector.connectors.logs_to_metrics import scan_py
from collector.connectors.logs_to_metrics.aggregate import Aggregator, HeldAggregator
from collector.connectors.logs_to_metrics.connector import Pipeline
from collector.pdata import LineChunk, Logs
from collector.pdata.anyvalue import to_anyvalue

from .conftest import TWINS, config

pytestmark = pytest.mark.skipif(TWINS["c"] is None, reason="compiled scanner not built")

RULES = """
temporality: {temporality}
max_staleness: 3s
metrics:
  - {{name: hits, type: counter, dimensions: [k], cardinality_limit: {limit}}}
  - {{name: total, type: counter, value: v, dimensions: [k, {{field: u, on_missing: skip}}]}}
  - {{name: last, type: gauge, value: v, dimensions: [{{field: u, default: none}}]}}
  - {{name: lat, type: histogram, value: v, buckets: [0, 1, 10], dimensions: [k, u], cardinality_limit: {limit}}}
"""
SECOND = 1_000_000_000


def pipeline(cfg, compiled: bool, overflow: list) -> Pipeline:
    scanner = TWINS["c"] if compiled else scan_py.Scanner
    with mock.patch.object(_fastpath, "JsonScanner", scanner):
        built = Pipeline(cfg, lambda name, n: overflow.append((name, n)))
    assert isinstance(built.aggregator, HeldAggregator if compiled else Aggregator)
    return built


def emitted(metrics) -> list:
    return [(m.name, m.type, m.temporality, [repr(p) for p in m.points]) for _, _, m in metrics.iter_metrics()]


record = st.fixed_dictionaries({}, optional={
    "k": st.sampled_from(["a", "b", "c", "d", "e", "", "é"]),
    "u": st.one_of(st.sampled_from(["x", "y"]), st.integers(-2, 2)),
    "v": st.one_of(st.integers(-3, 20), st.floats(-5, 50, allow_nan=False), st.just("bad")),
})
step = st.one_of(
    st.tuples(st.just("lines"), st.lists(record, min_size=1, max_size=8)),
    st.tuples(st.just("records"), st.lists(record, min_size=1, max_size=4)),
    st.tuples(st.just("flush"), st.integers(0, 5)),
    st.tuples(st.just("reload"), st.booleans()),
)


def otlp(records: list[dict]) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    logs = request.resource_logs.add().scope_logs.add().log_records
    for r in records:
        logs.add().body.CopyFrom(to_anyvalue(r))
    return request


@settings(max_examples=int(os.environ.get("FATHOM_FUZZ_EXAMPLES", 40)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["cumulative", "delta"]), st.integers(2, 4), st.lists(step, min_size=1, max_size=12))
def test_held_series_match_the_twins_dict_state(temporality, limit, steps):
    cfg = config(RULES.format(temporality=temporality, limit=limit))
    overflow: dict[bool, list] = {True: [], False: []}
    pipes = {kind: pipeline(cfg, kind, overflow[kind]) for kind in (True, False)}
    now = SECOND
    for kind, arg in steps:
        now += SECOND
        if kind == "lines":
            data = b"\n".join(orjson.dumps(r) for r in arg)
            for p in pipes.values():
                p.consume(Logs(chunks=[LineChunk(data, len(arg))]), now)
        elif kind == "records":
            for p in pipes.values():
                p.consume(Logs(otlp(arg)), now)
        elif kind == "flush":
            now += arg * SECOND  # up to 5 s more: series idle for 3 s expire
            assert emitted(pipes[True].flush(now)) == emitted(pipes[False].flush(now))
            assert pipes[True].series_counts() == pipes[False].series_counts()
        else:  # each hands its series to a successor; crossed: to one of the other kind
            states = {kind: p.hand_over(now) for kind, p in pipes.items()}
            for kind, state in states.items():
                successor = kind != arg
                pipes[successor] = pipeline(cfg, successor, overflow[successor])
                assert pipes[successor].take_over(state) == {}
        assert pipes[True].pop_bad() == pipes[False].pop_bad()
    now += SECOND
    assert emitted(pipes[True].flush(now)) == emitted(pipes[False].flush(now))
    assert sum(n for _, n in overflow[True]) == sum(n for _, n in overflow[False])


def test_attribute_maps_are_made_once_per_held_series():
    p = pipeline(config(RULES.format(temporality="cumulative", limit=10)), True, [])
    p.consume(Logs(chunks=[LineChunk(b'{"k":"a","u":"x","v":1}', 1)]), SECOND)
    first = {m.name: m.points[0].attributes for _, _, m in p.flush(SECOND).iter_metrics()}
    p.consume(Logs(chunks=[LineChunk(b'{"k":"a","u":"x","v":2}', 1)]), 2 * SECOND)
    second = {m.name: m.points[0] for _, _, m in p.flush(2 * SECOND).iter_metrics()}
    assert all(second[name].attributes is attrs for name, attrs in first.items())
    assert second["hits"].value == 2 and second["lat"].bucket_counts == [0, 1, 1, 0]


def test_a_dimension_with_a_lone_surrogate_flushes_as_the_twin_does():
    """A non-UTF-8 file name reaches attributes as surrogate escapes; its series must still flush."""
    cfg = config("metrics: [{name: hits, type: counter, dimensions: ['attributes[\"f\"]'], "
                 "cardinality_limit: 9223372036854775808}]")
    got = {}
    for compiled in (True, False):
        p = pipeline(cfg, compiled, [])
        p.consume(Logs(chunks=[LineChunk(b"{}", 1, attributes={"f": "a\udcffb"})]), SECOND)
        got[compiled] = emitted(p.flush(2 * SECOND))
    assert got[True] == got[False] and "a\\udcffb" in got[True][0][3][0]
