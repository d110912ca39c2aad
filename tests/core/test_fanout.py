"""Fan-out isolation: one stalled exporter neither slows nor duplicates data to the others."""

from __future__ import annotations

import asyncio
import textwrap

from collector.fanout import FanOut
from collector.graph import build
from collector.telemetry import Telemetry
from tests.core.components import Pusher, Recorder, Source, logs
from tests.core.test_graph import FakeHost


async def test_a_hanging_exporter_neither_slows_nor_duplicates_to_the_others(resolve_text):
    config = resolve_text(textwrap.dedent("""
        receivers: {source: {}}
        exporters:
          pusher/hang: {hang: true, sending_queue: {queue_size: 5, num_consumers: 1}}
          pusher: {}
        service:
          pipelines:
            logs: {receivers: [source], exporters: [pusher/hang, pusher]}
    """))
    telemetry = Telemetry()
    graph = build(config, telemetry)
    await graph.start(FakeHost())
    source = Source.instances["source"]

    async def send_all():
        for _ in range(200):
            await source.send(logs(10))
            await asyncio.sleep(0)  # let the healthy exporter's consumers run

    # A liveness bound, not a performance figure: with the hanging exporter in the
    # way, sending would never finish.
    await asyncio.wait_for(send_all(), 10)
    await asyncio.sleep(0.05)
    healthy, hanging = Pusher.instances["pusher"], Pusher.instances["pusher/hang"]
    assert sum(b.item_count() for b in healthy.pushed) == 2000  # every item, once
    assert hanging.pushed == []
    dropped = {m.name: sum(p.value for p in m.points) for _, _, m in telemetry.collect().iter_metrics()}
    # one batch in the hung push, five queued, the rest dropped and counted
    assert dropped["otelcol_exporter_enqueue_failed_log_records"] == 2000 - 60
    await graph.shutdown(deadline=0.5)


class Mutator:
    mutates_data = True

    def __init__(self) -> None:
        self.seen: list = []

    async def consume(self, batch) -> None:
        self.seen.append(batch)


class Reader(Mutator):
    mutates_data = False


async def test_only_a_mutating_consumer_gets_a_copy():
    reader, mutator, last = Reader(), Mutator(), Mutator()
    batch = logs(3)
    await FanOut([reader, mutator, last]).consume(batch)
    assert reader.seen[0] is batch
    assert mutator.seen[0] is not batch and mutator.seen[0].item_count() == 3
    assert last.seen[0] is batch  # nobody reads the original after the last consumer


async def test_a_failing_consumer_does_not_stop_the_others():
    from collector.errors import RetryableError

    class Failing(Reader):
        async def consume(self, batch) -> None:
            raise RetryableError("down")

    after = Reader()
    try:
        await FanOut([Failing(), after]).consume(logs(1))
    except RetryableError:
        pass
    else:
        raise AssertionError("the failure must reach the sender")
    assert len(after.seen) == 1
