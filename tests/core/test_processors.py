"""The batch and memory_limiter processors and the health_check extension."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from collector.component import ComponentID, Kind, Settings, Signal
from collector.errors import RefusedError
from collector.extensions.health_check import HealthCheckConfig, HealthCheck
from collector.pdata import Metrics
from collector.pdata import metrics as m
from collector.processors.batch import BatchConfig, BatchProcessor
from collector.processors.memory_limiter import MemoryLimiter, MemoryLimiterConfig
from collector.telemetry import Telemetry
from tests.core.components import logs


def settings(kind: Kind, type_: str, signal: Signal = Signal.LOGS) -> Settings:
    id = ComponentID(type_)
    return Settings(id, kind, logging.getLogger("test"), Telemetry().for_component(id, kind), frozenset({signal}), "logs")


class Sink:
    mutates_data = False

    def __init__(self) -> None:
        self.batches: list = []

    async def consume(self, batch) -> None:
        self.batches.append(batch)


async def test_batch_sends_when_the_size_is_reached():
    sink = Sink()
    proc = BatchProcessor(settings(Kind.PROCESSOR, "batch"), BatchConfig(send_batch_size=10, timeout=60), sink)
    await proc.start(None)
    for _ in range(4):
        await proc.consume(logs(3))
    assert [b.item_count() for b in sink.batches] == [12]
    await proc.shutdown()


async def test_batch_sends_after_the_timeout():
    sink = Sink()
    proc = BatchProcessor(settings(Kind.PROCESSOR, "batch"), BatchConfig(send_batch_size=1000, timeout=0.02), sink)
    await proc.start(None)
    await proc.consume(logs(3))
    for _ in range(100):
        if sink.batches:
            break
        await asyncio.sleep(0.01)
    assert [b.item_count() for b in sink.batches] == [3]
    await proc.shutdown()


async def test_batch_splits_oversized_batches_and_keeps_every_record():
    sink = Sink()
    config = BatchConfig(send_batch_size=4, send_batch_max_size=4, timeout=60)
    proc = BatchProcessor(settings(Kind.PROCESSOR, "batch"), config, sink)
    await proc.start(None)
    await proc.consume(logs(10))
    await proc.shutdown()
    assert [b.item_count() for b in sink.batches] == [4, 4, 2]
    lines = [line for b in sink.batches for c in b.chunks for line in c.lines()]
    assert lines == [b'{"i": %d}' % i for i in range(10)]


async def test_batch_flushes_on_shutdown():
    sink = Sink()
    proc = BatchProcessor(settings(Kind.PROCESSOR, "batch"), BatchConfig(send_batch_size=1000, timeout=60), sink)
    await proc.start(None)
    await proc.consume(logs(5))
    await proc.shutdown()
    assert [b.item_count() for b in sink.batches] == [5]


async def test_batch_merges_otlp_bytes_without_decoding():
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from collector.pdata import Logs

    def request(body: str) -> bytes:
        req = ExportLogsServiceRequest()
        req.resource_logs.add().scope_logs.add().log_records.add().body.string_value = body
        return req.SerializeToString()

    sink = Sink()
    proc = BatchProcessor(settings(Kind.PROCESSOR, "batch"), BatchConfig(send_batch_size=2, timeout=60), sink)
    await proc.consume(Logs(otlp_bytes=request("a"), count=1))
    await proc.consume(Logs(otlp_bytes=request("b"), count=1))
    (merged,) = sink.batches
    assert merged.otlp_bytes is not None
    bodies = [r.body.string_value for rl in merged.request.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    assert bodies == ["a", "b"]


def test_batch_config_rejects_a_max_below_the_size():
    with pytest.raises(ValueError, match=r"send_batch_max_size \(5\) must be 0 or at least send_batch_size \(10\)"):
        BatchConfig(send_batch_size=10, send_batch_max_size=5)


async def test_metrics_batches_split_by_points():
    points = [m.NumberPoint({"i": i}, 1, i) for i in range(5)]
    metric = m.Metric("x", m.MetricType.GAUGE, points)
    batch = Metrics([m.ResourceMetrics(m.Resource(), [m.ScopeMetrics(m.Scope(), [metric])])])
    sink = Sink()
    proc = BatchProcessor(settings(Kind.PROCESSOR, "batch", Signal.METRICS),
                          BatchConfig(send_batch_size=2, send_batch_max_size=2, timeout=60), sink)
    await proc.consume(batch)
    assert [b.item_count() for b in sink.batches] == [2, 2, 1]


async def test_memory_limiter_refuses_above_the_soft_limit_and_recovers():
    used = [100 << 20]
    sink = Sink()
    config = MemoryLimiterConfig(limit_mib=200, spike_limit_mib=50, check_interval=3600)
    limiter = MemoryLimiter(settings(Kind.PROCESSOR, "memory_limiter"), config, sink, measure=lambda: used[0])
    await limiter.start(None)
    await limiter.consume(logs(1))
    used[0] = 160 << 20  # above the soft limit of 150 MiB
    limiter.check()
    with pytest.raises(RefusedError) as info:
        await limiter.consume(logs(1))
    assert info.value.retry_after == 3600
    used[0] = 120 << 20
    limiter.check()
    await limiter.consume(logs(1))
    assert len(sink.batches) == 2
    await limiter.shutdown()


def test_memory_limiter_needs_a_limit():
    with pytest.raises(ValueError, match="set limit_mib"):
        MemoryLimiterConfig()
    assert MemoryLimiterConfig(limit_mib=100).limits() == (80 << 20, 100 << 20)


class FakeHost:
    ready = False

    def get_extension(self, id):
        return None

    def is_ready(self) -> bool:
        return self.ready


async def test_health_check_reports_readiness():
    host = FakeHost()
    ext = HealthCheck(settings(Kind.EXTENSION, "health_check"), HealthCheckConfig(endpoint="127.0.0.1:0"))
    await ext.shutdown()  # before start: safe
    await ext.start(host)
    url = f"http://127.0.0.1:{ext.server.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/") as response:
            assert response.status == 503
            assert (await response.json())["status"] == "Server not available"
        host.ready = True
        async with session.get(url + "/") as response:
            assert response.status == 200
        async with session.get(url + "/livez") as response:
            assert response.status == 200
    await ext.shutdown()
    await ext.shutdown()
