"""The ``health_check`` extension: liveness and readiness for probes.

``GET /`` (the OpenTelemetry Collector's path, configurable) answers 200
while every pipeline is running and 503 before start-up has finished and once
shutdown has begun, so a Kubernetes readiness probe takes the pod out of
rotation while it drains. ``GET /livez`` answers 200 while the process
serves at all.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from pydantic import Field

from collector.component import ComponentConfig, Factory, Host, Kind, Settings, Stability
from collector.httpserver import HttpServer
from collector.tls import TLSServerConfig, server_context


class HealthCheckConfig(ComponentConfig):
    endpoint: str = Field("127.0.0.1:13133", description="Where to listen.")
    path: str = Field("/", pattern="^/", description="The readiness path.")
    tls: TLSServerConfig | None = Field(None, description="Serve HTTPS (and require client certificates if set).")


class HealthCheck:
    def __init__(self, settings: Settings, config: HealthCheckConfig) -> None:
        self._config = config
        self._host: Host | None = None
        self._since = time.time()
        app = web.Application()
        app.router.add_get(config.path, self._ready)
        if config.path != "/livez":
            app.router.add_get("/livez", self._live)
        self.server = HttpServer(app, config.endpoint,
                                 ssl_context=server_context(config.tls))
        self._running = False

    async def _ready(self, request: web.Request) -> web.Response:
        is_ready = getattr(self._host, "is_ready", lambda: False)()
        status = "Server available" if is_ready else "Server not available"
        return web.json_response(
            {"status": status, "upSince": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._since)),
             "uptime": f"{time.time() - self._since:.3f}s"},
            status=200 if is_ready else 503,
        )

    async def _live(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def start(self, host: Host) -> None:
        if not self._running:
            self._host = host
            await self.server.start()
            self._running = True

    async def shutdown(self) -> None:
        if self._running:
            self._running = False
            await self.server.stop()


def create(settings: Settings, config: HealthCheckConfig) -> Any:
    return HealthCheck(settings, config)


factory = Factory(
    type="health_check",
    kind=Kind.EXTENSION,
    config=HealthCheckConfig,
    create=create,
    description="Answers liveness and readiness probes over HTTP.",
    stability=Stability.BETA,
)
