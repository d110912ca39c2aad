"""The loadbalancing exporter: the hash ring's spread and stability, routing keys, DNS updates,
and end to end over three and then four in-process OTLP/gRPC backends (tests/otlp/backend.py)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter

import pytest

from collector.component import ComponentID, Kind, Settings, Signal
from collector.pdata import Metrics
from collector.pdata import metrics as m
from collector.telemetry import Telemetry
from exporters.loadbalancing import HashRing, LoadBalancer, LoadBalancingConfig
from exporters.loadbalancing.resolver import Resolver
from exporters.loadbalancing.routing import split
from tests.otlp.backend import Backend

KEYS = [f"series-{i}".encode() for i in range(20_000)]


def owners(ring: HashRing) -> dict[bytes, str]:
    return {key: ring.endpoint(key) for key in KEYS}


def test_the_ring_spreads_keys_evenly_and_a_new_backend_takes_about_one_nth_only_from_the_others():
    three = owners(HashRing(["a:4317", "b:4317", "c:4317"]))
    shares = Counter(three.values())
    assert all(abs(n / len(KEYS) - 1 / 3) < 0.1 for n in shares.values()), shares
    four = owners(HashRing(["a:4317", "b:4317", "c:4317", "d:4317"]))
    moved = [k for k in KEYS if three[k] != four[k]]
    assert 0.15 < len(moved) / len(KEYS) < 0.35  # about 1/4
    assert {four[k] for k in moved} == {"d:4317"}  # keys only move to the newcomer
    two = owners(HashRing(["a:4317", "c:4317"]))
    assert {k for k in KEYS if three[k] != two[k]} == {k for k in KEYS if three[k] == "b:4317"}


def test_the_ring_is_the_same_in_every_process_and_order():
    assert owners(HashRing(["x:1", "y:1"])) == owners(HashRing(["y:1", "x:1", "x:1"]))
    assert HashRing(["x:1", "y:1"]).endpoint(b"fixed") == "x:1"  # BLAKE2b, not the per-process hash()


def batch(services: int, series: int) -> Metrics:
    """``services`` resources, each with metric ``requests`` of ``series`` points."""
    rms = []
    for s in range(services):
        points = [m.NumberPoint({"series": i}, 1, i) for i in range(series)]
        metric = m.Metric("requests", m.MetricType.SUM, points, temporality=m.Temporality.CUMULATIVE, monotonic=True)
        rms.append(m.ResourceMetrics(m.Resource({"service.name": f"svc-{s}"}),
                                     [m.ScopeMetrics(m.Scope("app"), [metric])]))
    return Metrics(rms)


def series_of(part: Metrics) -> set[tuple[str, int]]:
    return {(rm.resource.attributes["service.name"], p.attributes["series"])
            for rm, _, metric in part.iter_metrics() for p in metric.points}


@pytest.mark.parametrize("key", ["service", "resource", "metric", "streamID"])
def test_split_keeps_every_point_once_and_each_stream_on_one_backend(key):
    ring = HashRing(["a:1", "b:1", "c:1"])
    parts = split(batch(6, 50), key, [], ring.endpoint)
    seen = [s for part in parts.values() for s in series_of(part)]
    assert len(seen) == len(set(seen)) == 300
    again = split(batch(6, 50), key, [], ring.endpoint)
    assert {e: series_of(p) for e, p in parts.items()} == {e: series_of(p) for e, p in again.items()}
    if key in ("service", "resource"):  # a service's points stay together
        assert all(len({svc for svc, _ in series_of(p)}) == len(p.resource_metrics) for p in parts.values())
    if key == "metric":  # one metric name: one backend, and the batch passes whole
        assert list(parts.values()) == [parts[next(iter(parts))]] and len(parts) == 1


def settings() -> Settings:
    id = ComponentID("loadbalancing")
    return Settings(id, Kind.EXPORTER, logging.getLogger("fathom.exporter.loadbalancing"),
                    Telemetry().for_component(id, Kind.EXPORTER), frozenset({Signal.METRICS}))


async def test_dns_updates_change_the_backends_and_a_failed_lookup_keeps_them():
    answers: list = [["10.0.0.2", "10.0.0.1"]]
    changes: list[list[str]] = []

    async def lookup(host, port, type):
        if isinstance(answers[0], Exception):
            raise answers[0]
        return [(socket.AF_INET, type, 6, "", (ip, port)) for ip in answers[0]]

    async def on_change(endpoints):
        changes.append(endpoints)

    config = LoadBalancingConfig.model_validate({"resolver": {"dns": {"hostname": "backends", "port": 4317}}})
    resolver = Resolver(config.resolver, on_change, logging.getLogger("test"), lookup)
    dns = config.resolver.dns
    await resolver.resolve_dns(dns)
    await resolver.resolve_dns(dns)  # same answer: no change
    answers[0] = OSError("SERVFAIL")
    await resolver.resolve_dns(dns)
    answers[0] = ["10.0.0.1", "::1"]
    await resolver.resolve_dns(dns)
    assert changes == [["10.0.0.1:4317", "10.0.0.2:4317"], ["10.0.0.1:4317", "[::1]:4317"]]


async def received(backends: list[Backend], total: int) -> dict[int, set[tuple[str, int]]]:
    """Series per backend (by index) once ``total`` points have arrived in all."""
    deadline = time.monotonic() + 10
    while True:
        got = {i: [(rm.resource.attributes[0].value.string_value, p.attributes[0].value.int_value)
                   for req in b.received[Signal.METRICS] for rm in req.resource_metrics
                   for sm in rm.scope_metrics for metric in sm.metrics for p in metric.sum.data_points]
               for i, b in enumerate(backends)}
        if sum(map(len, got.values())) >= total or time.monotonic() > deadline:
            return {i: set(v) for i, v in got.items()}
        await asyncio.sleep(0.02)


async def test_each_series_lands_on_one_backend_and_a_fourth_backend_takes_about_a_quarter():
    backends = [await Backend().start() for _ in range(4)]
    endpoints = [f"127.0.0.1:{b.grpc_port}" for b in backends]
    config = LoadBalancingConfig.model_validate({
        "routing_key": "streamID",
        "resolver": {"static": {"hostnames": endpoints[:3]}},
        "protocol": {"otlp": {"tls": {"insecure": True}, "compression": "none"}},
    })
    exporter = LoadBalancer(settings(), config)
    await exporter.start(host=None)  # type: ignore[arg-type]
    try:
        await exporter.consume(batch(4, 100))
        first = await received(backends, 400)
        await exporter.consume(batch(4, 100))
        both = await received(backends, 800)
        assert first[3] == set() and all(first[i] for i in range(3))
        assert both == first  # the second send went exactly where the first did
        assert sum(len(s) for s in first.values()) == 400  # each series on exactly one backend
        for b in backends:
            b.received[Signal.METRICS].clear()

        await exporter.rebalance(endpoints)
        await exporter.consume(batch(4, 100))
        after = await received(backends, 400)
        where_before = {s: i for i, ss in first.items() for s in ss}
        moved = {s for i, ss in after.items() for s in ss if where_before[s] != i}
        assert 0.1 < len(moved) / 400 < 0.4  # about 1/4
        assert moved == after[3]  # only to the new backend
    finally:
        await exporter.shutdown()
        for b in backends:
            await b.stop()
