"""top_contributors: right top K on Zipf data within the stated bound, bounded memory, real pipelines."""

from __future__ import annotations

import logging
import random
import textwrap
from collections import Counter

import orjson

from collector.component import ComponentID, Kind, Settings, Signal
from collector.config import load_config_text
from collector.connectors.top_contributors import Ranking, Rule, TopContributors, TopContributorsConfig, factory
from collector.graph import build
from collector.pdata import LineChunk, Logs
from collector.registry import Registry
from collector.resolve import resolve
from collector.telemetry import Telemetry
from tests.core.components import FACTORIES, Recorder, Source
from tests.processors.conftest import gauge, log_batch, metric_batch


def zipf_keys(n: int, universe: int, s: float = 1.1, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    weights = [1 / (i ** s) for i in range(1, universe + 1)]
    return [f"u{i}" for i in rnd.choices(range(universe), weights=weights, k=n)]


def ranking(lg: int = 8, **rule) -> Ranking:
    return Ranking(Rule.model_validate({"name": "top", "keys": ["user"], **rule}), Signal.LOGS, lg, 12)


def by_name(metrics):
    return {m.name: m for m in metrics}


def item(body: dict):
    from collector.processors.fields import LogItem

    return LogItem({}, line=orjson.dumps(body))


def test_zipf_top_k_within_the_stated_bound_and_memory_bounded():
    keys = zipf_keys(60_000, 50_000)
    exact = Counter(keys)
    r = ranking(lg=8, top_k=10)
    for k in keys:
        r.add(item({"user": k}))
    assert r.items.num_active_items <= 0.75 * 2 ** 8  # the table never grows past its size
    out = by_name(r.flush(0, 1))
    bound = out["top.error_bound"].points[0].value
    assert 0 < bound <= 3.5 / 2 ** 8 * len(keys)
    top = {p.attributes["user"]: p.value for p in out["top"].points if "user" in p.attributes}
    for key, estimate in top.items():
        assert exact[key] <= estimate <= exact[key] + bound  # the stated guarantee, key by key
    true_top = [k for k, c in exact.most_common(10)]
    assert set(true_top[:5]) <= set(top)  # the heavy hitters are all there
    for key, count in exact.items():
        if key not in top:
            assert count <= bound + min(top.values())  # anything left out is not much bigger than the 10th
    other = next(p.value for p in out["top"].points if "top_contributors.other" in p.attributes)
    assert other + sum(top.values()) == len(keys) == out["top.total"].points[0].value
    unique = out["top.unique_contributors"].points[0].value
    assert abs(unique - len(exact)) <= 0.05 * len(exact)


def test_exact_when_the_keys_fit_and_sum_with_multiplier_and_where():
    r = ranking(keys=["route", "user"], value="ms", aggregate="sum", value_multiplier=1000, top_k=2,
                where="status >= 500")
    rows = [("/a", "u1", 1.5, 500), ("/a", "u1", 0.25, 503), ("/b", "u2", 1.0, 500), ("/c", "u3", 9.0, 200),
            ("/c", "u3", 0.1, 502), ("/a", "u1", -1.0, 500)]
    for route, user, ms, status in rows:
        r.add(item({"route": route, "user": user, "ms": ms, "status": status}))
    r.add(item({"route": "/x", "ms": 1, "status": 500}))  # no user: skipped
    assert r.skipped == 2
    out = by_name(r.flush(0, 1))
    points = {tuple(sorted(p.attributes.items())): p.value for p in out["top"].points}
    assert points == {(("route", "/a"), ("user", "u1")): 1.75, (("route", "/b"), ("user", "u2")): 1.0,
                      (("top_contributors.other", "true"),): 0.1}
    assert out["top.error_bound"].points[0].value == 0
    assert out["top.total"].points[0].value == 2.85


def test_rules_are_validated():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="needs `value`"):
        Rule.model_validate({"name": "x", "keys": ["a"], "aggregate": "sum"})
    with pytest.raises(ValidationError, match="at most 4"):
        Rule.model_validate({"name": "x", "keys": ["a", "b", "c", "d", "e"]})
    with pytest.raises(ValidationError, match="column"):
        Rule.model_validate({"name": "x", "keys": ["a"], "where": "a =="})


async def test_logs_to_metrics_pipeline_with_raw_lines_and_otlp():
    registry = Registry.discover()
    for f in (*FACTORIES, factory):
        registry.register(f)
    text = textwrap.dedent("""
        receivers: {source: {}}
        exporters: {recorder: {}}
        connectors:
          top_contributors:
            window: 1h
            rules: [{name: top.users, keys: [user], top_k: 1}, {name: top.routes, keys: [attributes.route]}]
        service:
          pipelines:
            logs: {receivers: [source], exporters: [top_contributors]}
            metrics: {receivers: [top_contributors], exporters: [recorder]}
    """)
    graph = build(resolve(load_config_text(text, "t.yaml", env={}), registry), Telemetry())
    await graph.start(None)
    lines = b'{"user": "a"}\n{"user": "a"}\n{"user": "b"}'
    await Source.instances["source"].send(Logs(chunks=[LineChunk(lines, 3, attributes={"route": "/x"})]))
    await Source.instances["source"].send(log_batch([{"body": {"user": "a"}, "attributes": {"route": "/y"}}]))
    await graph.shutdown(deadline=5)
    (batch,) = Recorder.instances["recorder"].batches
    got = {(mt.name, tuple(sorted(p.attributes.items()))): p.value for _, _, mt in batch.iter_metrics()
           for p in mt.points}
    assert got[("top.users", (("user", "a"),))] == 3
    assert got[("top.users", (("top_contributors.other", "true"),))] == 1
    assert got[("top.routes", (("attributes.route", "/x"),))] == 3
    assert got[("top.users.unique_contributors", ())] == 2


async def test_metrics_input_ranks_points():
    id = ComponentID("top_contributors")
    settings = Settings(id, Kind.CONNECTOR, logging.getLogger("t"), Telemetry().for_component(id, Kind.CONNECTOR),
                        frozenset({Signal.METRICS}))

    class Sink:
        mutates_data = False
        batches: list = []

        async def consume(self, batch):
            self.batches.append(batch)

    config = TopContributorsConfig.model_validate(
        {"rules": [{"name": "top.hosts", "keys": ["attributes.host"], "value": "value", "aggregate": "sum"}]})
    conn = TopContributors(settings, config, {Signal.METRICS: Sink()})
    await conn.consume(metric_batch([gauge("bytes", ({"host": "h1"}, 10.0), ({"host": "h2"}, 3.0),
                                           ({"host": "h1"}, 5.0))]))
    await conn.shutdown()
    (batch,) = Sink.batches
    top = {p.attributes.get("attributes.host"): p.value for _, _, mt in batch.iter_metrics() if mt.name == "top.hosts"
           for p in mt.points}
    assert top == {"h1": 15, "h2": 3, None: 0}
