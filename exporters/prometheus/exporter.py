"""The ``prometheus`` exporter: keeps the latest state of every series and serves /metrics.

It consumes in-process and pushes nowhere, so it implements ``consume``
directly instead of going through the queued exporter helper: a batch is
folded into the :class:`CumulativeStore` at once (deltas accumulated). A
scrape copies the store's structure on the event loop (no await in
between, so it is consistent) and renders and compresses on a worker
thread, so receivers keep running while a large scrape is written.
Series not updated for ``metric_expiration`` are forgotten by a timer,
whether or not anyone scrapes.
"""

from __future__ import annotations

import asyncio
import gzip
import time

from aiohttp import web

from collector.component import Factory, Host, Kind, Settings, Signal, Stability
from collector.httpserver import HttpServer
from collector.tls import server_context
from collector.pdata import Batch
from collector.pdata.metrics import Metrics
from exporters.prometheus.config import PrometheusConfig
from exporters.prometheus.cumulative import CumulativeStore, expiry
from exporters.prometheus.render import CONTENT_TYPE_TEXT, negotiate, render


class PrometheusExporter:
    """A Component and Consumer of metrics; start and shutdown are safe in any order.

    Its series survive a reload: the store is handed to the instance that
    replaces it, so counters keep their start times and values.
    """

    mutates_data = False
    #: it counts sent and dropped points itself (the graph must not count them again)
    counts_itself = True

    def __init__(self, settings: Settings, config: PrometheusConfig) -> None:
        self.settings = settings
        self.config = config
        self.store = CumulativeStore()
        self._options = config.render_options()
        app = web.Application()
        app.router.add_get("/metrics", self._scrape)
        self.server = HttpServer(app, config.endpoint,
                                 ssl_context=server_context(config.tls))
        self._expiry = expiry(self.store, config.metric_expiration, name=f"{settings.id} expiry",
                              logger=settings.logger)
        self._running = False
        self._stopped = False

    @property
    def port(self) -> int:
        """The port actually listened on (the kernel's pick when port 0 was asked for)."""
        return self.server.port

    async def start(self, host: Host) -> None:
        if self._running or self._stopped:
            return
        try:
            await self.server.start()
        except OSError as exc:
            raise OSError(exc.errno, f"exporter {self.settings.id}: {exc.strerror}") from exc
        self._running = True
        self._expiry.start()

    async def consume(self, batch: Batch) -> None:
        """Fold the batch into the store; the batch itself is only read."""
        assert isinstance(batch, Metrics)
        result = self.store.add(batch, time.monotonic())
        telemetry = self.settings.telemetry
        total = batch.item_count()
        telemetry.add_items("otelcol_exporter_sent", Signal.METRICS, total - result.dropped)
        if result.dropped:
            # Exponential histograms, non-monotonic deltas and out-of-order points.
            telemetry.add_items("otelcol_exporter_send_failed", Signal.METRICS, result.dropped)

    async def _scrape(self, request: web.Request) -> web.Response:
        openmetrics, content_type = negotiate(request.headers.get("Accept"))
        if not self.config.enable_open_metrics:
            openmetrics, content_type = False, CONTENT_TYPE_TEXT
        snapshot = self.store.snapshot()
        gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
        body = await asyncio.to_thread(self._body, snapshot, openmetrics, gzipped)
        headers = {"Content-Type": content_type}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)

    def _body(self, snapshot: Metrics, openmetrics: bool, gzipped: bool) -> bytes:
        body = render([snapshot], openmetrics=openmetrics, options=self._options)
        return gzip.compress(body, compresslevel=1) if gzipped else body

    async def shutdown(self) -> None:
        self._stopped = True
        await self._expiry.stop()
        if self._running:
            self._running = False
            await self.server.stop()

    async def hand_over(self) -> CumulativeStore:
        await self.shutdown()
        return self.store

    def take_over(self, store: CumulativeStore) -> None:
        self.store = store
        self._expiry = expiry(store, self.config.metric_expiration, name=f"{self.settings.id} expiry",
                              logger=self.settings.logger)


def create(settings: Settings, config: PrometheusConfig) -> PrometheusExporter:
    return PrometheusExporter(settings, config)


factory = Factory(
    type="prometheus",
    kind=Kind.EXPORTER,
    config=PrometheusConfig,
    create=create,
    signals={Signal.METRICS: Stability.BETA},
    description="Serves metrics on a /metrics endpoint for Prometheus to scrape.",
)
