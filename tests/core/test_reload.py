"""Reload keeps state: what a replaced exporter held in memory goes to its successor."""

from __future__ import annotations

import asyncio
import textwrap

from collector.service import Service
from tests.core.components import Pusher, Source, logs

CONFIG = textwrap.dedent("""
    receivers: {source: {}}
    exporters:
      pusher: {hang: %s, sending_queue: {num_consumers: 2}}
      pusher/gone: {}
    service:
      shutdown_timeout: 0.2
      telemetry: {metrics: {level: none}}
      pipelines:
        logs: {receivers: [source], exporters: [pusher, %s]}
""")


async def test_batches_queued_for_a_dead_backend_survive_a_reload(resolve_text):
    service = Service(resolve_text(CONFIG % ("true", "pusher/gone")))
    await service.start()
    for n in range(1, 8):
        await Source.instances["source"].send(logs(n))
    await asyncio.sleep(0.01)
    assert Pusher.instances["pusher"].pushed == []  # all stuck: two in flight, five queued

    # The new config has a live backend behind the same exporter id, and drops pusher/gone.
    await asyncio.wait_for(service.reload(resolve_text(CONFIG % ("false", "pusher/gone"))), 5)
    for _ in range(100):
        if sum(b.item_count() for b in Pusher.instances["pusher"].pushed) == 28:
            break
        await asyncio.sleep(0.01)
    assert sorted(b.item_count() for b in Pusher.instances["pusher"].pushed) == [1, 2, 3, 4, 5, 6, 7]
    await service.shutdown()


async def test_a_reload_that_fails_to_start_restores_the_old_pipelines_with_their_state(resolve_text, registry):
    from collector.component import ComponentConfig, Factory, Kind, Signal, Stability

    class Broken:
        mutates_data = False

        def __init__(self, settings, config):
            pass

        async def start(self, host):
            raise OSError(98, "address in use")

        async def shutdown(self):
            pass

        async def consume(self, batch):
            pass

    registry.register(Factory("broken", Kind.EXPORTER, ComponentConfig, Broken, {Signal.LOGS: Stability.ALPHA}))
    service = Service(resolve_text(CONFIG % ("true", "pusher/gone")))
    await service.start()
    for n in range(1, 4):
        await Source.instances["source"].send(logs(n))
    await asyncio.sleep(0.01)
    broken = CONFIG.replace("pusher/gone: {}", "pusher/gone: {}\n  broken: {}") % ("true", "broken")
    from collector.graph import StartError

    try:
        await service.reload(resolve_text(broken))
    except StartError:
        pass
    else:
        raise AssertionError("the reload should have failed")
    assert service.ready
    held = service.graph.stateful_nodes()
    (exporter,) = [n.component for k, n in held.items() if str(k[1]) == "pusher"]
    # the three batches went old -> new -> restored, and wait there for the backend
    assert sorted(b.item_count() for b in exporter._queue.leftovers()) == [1, 2, 3]
    await service.shutdown()
