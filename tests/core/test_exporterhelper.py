"""Queue, retry, throttle, timeout and typed failures around a push function."""

from __future__ import annotations

import asyncio
import logging

import pytest

from collector.component import ComponentID, Kind, Settings
from collector.errors import PermanentError, RetryableError, ThrottledError
from collector.exporterhelper import MEMORY_QUEUE_MIB, MESSAGE_MEMORY_FACTOR, METRIC_POINT_BYTES, ExporterConfig, QueuedExporter, queued_size
from collector.pdata import LineChunk, Logs, Metrics
from collector.pdata.metrics import Metric, MetricType, NumberPoint, Resource, ResourceMetrics, Scope, ScopeMetrics
from collector.telemetry import Telemetry
from tests.core.components import Scripted, logs


def make(**config) -> tuple[QueuedExporter, Scripted, Telemetry]:
    telemetry = Telemetry()
    id = ComponentID("scripted")
    settings = Settings(id, Kind.EXPORTER, logging.getLogger("test"), telemetry.for_component(id, Kind.EXPORTER))
    pusher = Scripted()
    fast_retry = {"initial_interval": "10ms", "max_interval": "40ms", "randomization_factor": 0}
    fast_retry.update(config.pop("retry_on_failure", {}))
    cfg = ExporterConfig.model_validate({"retry_on_failure": fast_retry, **config})
    return QueuedExporter(settings, cfg, pusher), pusher, telemetry


def counters(telemetry: Telemetry) -> dict[str, float]:
    return {m.name: sum(p.value for p in m.points) for _, _, m in telemetry.collect().iter_metrics()}


async def drained(exporter: QueuedExporter) -> None:
    await asyncio.wait_for(exporter._queue.join(), 5)


async def test_retryable_failures_are_retried_with_growing_backoff():
    exporter, pusher, telemetry = make()
    pusher.outcomes = [RetryableError("503"), RetryableError("503"), RetryableError("503"), None]
    await exporter.start(None)
    await exporter.consume(logs(4))
    await drained(exporter)
    await exporter.shutdown()
    assert len(pusher.pushed) == 1 and len(pusher.attempts) == 4
    gaps = [b - a for a, b in zip(pusher.attempts, pusher.attempts[1:])]
    assert gaps[0] >= 0.009 and gaps[1] >= 0.014 and gaps[2] >= 0.0225  # 10ms, x1.5, x1.5
    assert counters(telemetry)["otelcol_exporter_sent_log_records"] == 4
    assert "otelcol_exporter_send_failed_log_records" not in counters(telemetry)


async def test_permanent_failures_are_not_retried_and_are_counted():
    exporter, pusher, telemetry = make()
    pusher.outcomes = [PermanentError("400 bad data")]
    await exporter.start(None)
    await exporter.consume(logs(5))
    await drained(exporter)
    await exporter.shutdown()
    assert len(pusher.attempts) == 1
    assert counters(telemetry)["otelcol_exporter_send_failed_log_records"] == 5


async def test_a_throttle_delay_replaces_the_backoff():
    exporter, pusher, _ = make(retry_on_failure={"initial_interval": "5s"})
    pusher.outcomes = [ThrottledError("429", retry_after=0.05)]
    await exporter.start(None)
    await exporter.consume(logs(1))
    await drained(exporter)
    await exporter.shutdown()
    assert len(pusher.pushed) == 1
    assert 0.045 <= pusher.attempts[1] - pusher.attempts[0] < 1.0


async def test_each_attempt_is_bounded_by_the_timeout():
    exporter, pusher, telemetry = make(timeout="20ms")
    pusher.outcomes = [1.0, None]  # the first attempt hangs for a second
    await exporter.start(None)
    await exporter.consume(logs(2))
    await drained(exporter)
    await exporter.shutdown()
    assert len(pusher.attempts) == 2 and len(pusher.pushed) == 1
    assert pusher.attempts[1] - pusher.attempts[0] < 0.5


async def test_retries_stop_after_max_elapsed_time():
    exporter, pusher, telemetry = make(retry_on_failure={"max_elapsed_time": "50ms"})
    pusher.outcomes = [RetryableError("503")] * 100
    await exporter.start(None)
    await exporter.consume(logs(3))
    await drained(exporter)
    await exporter.shutdown()
    assert 2 <= len(pusher.attempts) < 10
    assert counters(telemetry)["otelcol_exporter_send_failed_log_records"] == 3


async def test_a_full_queue_drops_and_counts():
    exporter, pusher, telemetry = make(sending_queue={"queue_size": 2, "num_consumers": 1})
    pusher.outcomes = [0.2]  # the consumer is busy with the first batch
    await exporter.start(None)
    await exporter.consume(logs(1))
    await asyncio.sleep(0)  # the consumer takes the first batch
    for _ in range(4):
        await exporter.consume(logs(1))
    # one in flight, two queued, two dropped
    assert counters(telemetry)["otelcol_exporter_enqueue_failed_log_records"] == 2
    await drained(exporter)
    await exporter.shutdown()
    assert len(pusher.pushed) == 3


async def test_a_blocking_queue_makes_the_caller_wait_instead():
    exporter, pusher, telemetry = make(sending_queue={"queue_size": 1, "num_consumers": 1, "blocking": True})
    pusher.outcomes = [0.05, 0.05]
    await exporter.start(None)
    for _ in range(4):
        await exporter.consume(logs(1))
    await drained(exporter)
    await exporter.shutdown()
    assert len(pusher.pushed) == 4
    assert "otelcol_exporter_enqueue_failed_log_records" not in counters(telemetry)


async def test_without_a_queue_failures_reach_the_caller():
    exporter, pusher, _ = make(sending_queue={"enabled": False}, retry_on_failure={"enabled": False})
    pusher.outcomes = [RetryableError("503")]
    await exporter.start(None)
    with pytest.raises(RetryableError):
        await exporter.consume(logs(1))
    await exporter.shutdown()


async def test_shutdown_drains_the_queue():
    exporter, pusher, telemetry = make(sending_queue={"num_consumers": 1})
    pusher.outcomes = [0.02] * 5
    await exporter.start(None)
    for _ in range(5):
        await exporter.consume(logs(2))
    await exporter.shutdown()
    assert len(pusher.pushed) == 5


async def test_a_shutdown_cut_short_counts_what_was_left():
    exporter, pusher, telemetry = make(sending_queue={"num_consumers": 1})
    pusher.outcomes = [10.0] * 3
    await exporter.start(None)
    for _ in range(3):
        await exporter.consume(logs(1))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(exporter.shutdown(), 0.1)
    assert counters(telemetry)["otelcol_exporter_send_failed_log_records"] == 3


async def test_queue_size_and_capacity_are_observed():
    exporter, pusher, telemetry = make(sending_queue={"queue_size": 7, "num_consumers": 1})
    pusher.outcomes = [0.2]
    await exporter.start(None)
    for _ in range(3):
        await exporter.consume(logs(1))
    await asyncio.sleep(0)
    c = counters(telemetry)
    assert c["otelcol_exporter_queue_capacity"] == 7
    assert c["otelcol_exporter_queue_size"] == 2
    await exporter.shutdown()


class StorageHost:
    def __init__(self, storage) -> None:
        self.storage = storage

    def get_extension(self, id):
        return self.storage if str(id) == "file_storage" else None


async def test_a_persistent_queue_keeps_what_was_not_sent_for_the_next_start(tmp_path):
    from collector.extensions.file_storage import FileStorage, FileStorageConfig

    storage = FileStorage(None, FileStorageConfig(directory=str(tmp_path), fsync="never"))
    host = StorageHost(storage)
    queue = {"storage": "file_storage", "num_consumers": 2}
    down, _, telemetry = make(sending_queue=queue, retry_on_failure={"initial_interval": "1s"})
    down.pusher.outcomes = [RetryableError("503")] * 1000
    await down.start(host)
    for n in (1, 2, 3, 4, 5):
        await down.consume(logs(n))
    with pytest.raises(TimeoutError):  # the backend stays down: the drain is cut short
        await asyncio.wait_for(down.shutdown(), 0.2)
    assert "otelcol_exporter_send_failed_log_records" not in counters(telemetry)  # kept, not failed

    up, pusher, _ = make(sending_queue=queue)
    await up.start(host)
    await asyncio.wait_for(up._queue.join(), 5)
    await up.shutdown()
    assert sorted(b.item_count() for b in pusher.pushed) == [1, 2, 3, 4, 5]
    lines = sorted(line for b in pusher.pushed for c in b.chunks for line in c.lines())
    assert lines.count(b'{"i": 0}') == 5 and len(lines) == 15

    third, pusher, _ = make(sending_queue=queue)
    await third.start(host)
    await third.shutdown()
    assert pusher.pushed == []  # delivered once, not again


async def test_a_storage_that_is_not_running_fails_start_clearly():
    exporter, _, _ = make(sending_queue={"storage": "file_storage/missing"})
    with pytest.raises(RuntimeError, match="'file_storage/missing' is not a running storage extension"):
        await exporter.start(StorageHost(None))


async def test_a_full_persistent_queue_refuses_instead_of_dropping(tmp_path):
    from collector.errors import RefusedError
    from collector.extensions.file_storage import FileStorage, FileStorageConfig

    host = StorageHost(FileStorage(None, FileStorageConfig(directory=str(tmp_path), fsync="never")))
    exporter, pusher, telemetry = make(sending_queue={"storage": "file_storage", "queue_size": 2, "num_consumers": 1})
    pusher.outcomes = [10.0]
    await exporter.start(host)
    for _ in range(2):  # one in flight, one queued: a disk queue counts both against its size
        await exporter.consume(logs(1))
        await asyncio.sleep(0)
    with pytest.raises(RefusedError, match="sending queue is full"):
        await exporter.consume(logs(4))
    assert counters(telemetry)["otelcol_exporter_enqueue_failed_log_records"] == 4
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(exporter.shutdown(), 0.1)



def big_logs() -> Logs:
    """One record of 0.4 MiB: two fit a 1 MiB queue, a third does not."""
    return Logs(chunks=[LineChunk(b"x" * (400 << 10), 1)])


def test_memory_queues_are_bounded_by_bytes_by_default_and_disk_queues_are_not():
    queue = ExporterConfig().sending_queue
    assert queue.size_bytes(persistent=False) == MEMORY_QUEUE_MIB << 20
    assert queue.size_bytes(persistent=True) == 0
    assert ExporterConfig.model_validate({"sending_queue": {"max_size_mib": 0}}).sending_queue.size_bytes(False) == 0


def test_the_size_estimate_uses_otlp_bytes_line_data_or_points():
    assert queued_size(big_logs()) == 400 << 10
    assert queued_size(Logs(otlp_bytes=b"abc")) == 3
    decoded = Logs()
    decoded.request.resource_logs.add().schema_url = "x" * 100
    assert queued_size(decoded) == int(decoded.request.ByteSize() * MESSAGE_MEMORY_FACTOR)
    point = NumberPoint({}, 0, 1)
    metrics = Metrics([ResourceMetrics(Resource(), [ScopeMetrics(Scope(), [Metric("m", MetricType.GAUGE, [point] * 5)])])])
    assert queued_size(metrics) == 5 * METRIC_POINT_BYTES


@pytest.mark.parametrize("when_full, sent", [("drop_newest", 2), ("drop_oldest", 2)])
async def test_a_queue_full_by_bytes_drops_and_counts(when_full, sent):
    exporter, pusher, telemetry = make(sending_queue={"num_consumers": 1, "max_size_mib": 1, "when_full": when_full})
    pusher.outcomes = [0.2]  # the first batch stays in flight, holding its bytes
    await exporter.start(None)
    await exporter.consume(big_logs())
    await asyncio.sleep(0)
    for _ in range(3):
        await exporter.consume(big_logs())
    assert counters(telemetry)["otelcol_exporter_enqueue_failed_log_records"] == 2
    await drained(exporter)
    await exporter.shutdown()
    assert len(pusher.pushed) == sent


async def test_a_blocking_queue_full_by_bytes_makes_the_caller_wait():
    exporter, pusher, telemetry = make(sending_queue={"num_consumers": 1, "max_size_mib": 1, "blocking": True})
    pusher.outcomes = [0.05, 0.05]
    await exporter.start(None)
    for _ in range(4):
        await exporter.consume(big_logs())
        assert exporter._queue.size_bytes() <= 1 << 20
    await drained(exporter)
    await exporter.shutdown()
    assert len(pusher.pushed) == 4
    assert "otelcol_exporter_enqueue_failed_log_records" not in counters(telemetry)


async def test_a_full_memory_queue_can_refuse_instead_of_dropping():
    from collector.errors import RefusedError

    exporter, pusher, telemetry = make(sending_queue={"queue_size": 1, "num_consumers": 1, "when_full": "refuse"})
    pusher.outcomes = [10.0]
    await exporter.start(None)
    await exporter.consume(logs(1))
    await asyncio.sleep(0)  # in flight
    await exporter.consume(logs(1))  # queued
    with pytest.raises(RefusedError, match="sending queue is full") as info:
        await exporter.consume(logs(3))
    assert info.value.retry_after == 1.0
    assert counters(telemetry)["otelcol_exporter_enqueue_failed_log_records"] == 3
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(exporter.shutdown(), 0.1)
