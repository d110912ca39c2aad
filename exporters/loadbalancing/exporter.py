"""The ``loadbalancing`` exporter: one ``otlp`` exporter per backend, chosen per stream by a hash ring.

Each backend is a full ``otlp`` exporter (its own sending queue, retries and
counters, labelled with the backend's ``endpoint``), created with that
exporter's factory. When the resolver's list changes, new backends are
started, the ring is rebuilt (moving about 1/N of the keys), and removed
backends drain their queues and close in the background.
"""

from __future__ import annotations

import asyncio
from typing import Any

from collector.component import ComponentID, Factory, Host, Kind, Settings, Signal, Stability
from collector.errors import PermanentError, RetryableError
from collector.pdata import Batch, Metrics
from collector.telemetry import ComponentTelemetry
from exporters import otlp
from exporters.loadbalancing.config import LoadBalancingConfig
from exporters.loadbalancing.resolver import Lookup, Resolver
from exporters.loadbalancing.ring import HashRing
from exporters.loadbalancing.routing import split


class LoadBalancer:
    mutates_data = False
    #: the per-backend exporters count what they send
    counts_itself = True

    def __init__(self, settings: Settings, config: LoadBalancingConfig, lookup: Lookup | None = None) -> None:
        self._settings = settings
        self._config = config
        self._log = settings.logger
        self._host: Host | None = None
        self.backends: dict[str, Any] = {}
        self.ring = HashRing(())
        self._resolver = Resolver(config.resolver, self.rebalance, settings.logger, lookup)
        self._retiring: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._stopped = False
        settings.telemetry.observe("otelcol_loadbalancer_num_backends", lambda: [(len(self.backends), {})],
                                   unit="{backends}", description="Current number of backends in use")

    async def start(self, host: Host) -> None:
        if self._host is None and not self._stopped:
            self._host = host
            await self._resolver.start()

    async def rebalance(self, endpoints: list[str]) -> None:
        """Use exactly ``endpoints`` from now on (the resolver calls this when its list changes)."""
        async with self._lock:
            if self._stopped:
                return
            added = [e for e in endpoints if e not in self.backends]
            removed = [e for e in self.backends if e not in endpoints]
            for endpoint in added:
                backend = otlp.factory.create(self._backend_settings(endpoint), self._config.protocol.for_endpoint(endpoint))
                await backend.start(self._host)
                self.backends[endpoint] = backend
            self.ring = HashRing(endpoints)
            for endpoint in removed:
                task = asyncio.create_task(self.backends.pop(endpoint).shutdown())
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)
            self._log.info("backends changed: %d now, %d added, %d removed", len(endpoints), len(added), len(removed),
                           extra={"backends": endpoints})

    def _backend_settings(self, endpoint: str) -> Settings:
        s = self._settings
        telemetry = ComponentTelemetry(s.telemetry.telemetry, {**s.telemetry.attributes, "endpoint": endpoint})
        return Settings(ComponentID(s.id.type, s.id.name), Kind.EXPORTER, s.logger.getChild(endpoint), telemetry,
                        s.signals)

    async def consume(self, batch: Batch) -> None:
        if not isinstance(batch, Metrics):
            raise PermanentError(f"loadbalancing routes metrics, not {batch.signal}")
        ring, backends = self.ring, self.backends
        if not ring:
            raise RetryableError("loadbalancing: no backend resolved yet")
        errors = []
        for endpoint, part in split(batch, self._config.routing_key, self._config.routing_attributes,
                                    ring.endpoint).items():
            try:
                await backends[endpoint].consume(part)
            except (PermanentError, RetryableError) as exc:
                errors.append(exc)
        if errors:
            raise errors[0] if all(isinstance(e, RetryableError) for e in errors) else PermanentError(
                "; ".join(map(str, errors)))

    async def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self._resolver.stop()
        async with self._lock:
            backends, self.backends = list(self.backends.values()), {}
        await asyncio.gather(*(b.shutdown() for b in backends), *self._retiring, return_exceptions=True)


def create(settings: Settings, config: LoadBalancingConfig) -> LoadBalancer:
    return LoadBalancer(settings, config)


factory = Factory(
    type="loadbalancing",
    kind=Kind.EXPORTER,
    config=LoadBalancingConfig,
    create=create,
    signals={Signal.METRICS: Stability.ALPHA},
    description="Routes metric streams by a key over OTLP backends with consistent hashing.",
)
