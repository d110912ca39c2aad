"""Serves the collector's own metrics on ``service.telemetry.metrics.address``.

The page is rendered by the Prometheus exporter's code, so self-metrics get
exactly the names, suffixes and escaping the ``prometheus`` exporter gives
any other metric.
"""

from __future__ import annotations

from aiohttp import web

from collector.httpserver import HttpServer
from collector.telemetry import Telemetry
from exporters.prometheus.render import negotiate, render


class TelemetryServer:
    def __init__(self, telemetry: Telemetry, address: str) -> None:
        self.telemetry = telemetry
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        self.server = HttpServer(app, address)

    async def _metrics(self, request: web.Request) -> web.Response:
        openmetrics, content_type = negotiate(request.headers.get("Accept", ""))
        body = render([self.telemetry.collect()], openmetrics=openmetrics)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
