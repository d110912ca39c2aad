"""The ``status`` extension: a live page of what the collector is doing.

It serves a hand-written page (``static/``: HTML, JS and CSS, no build step,
nothing fetched from elsewhere) and the JSON it polls, ``GET /api/status``:
the pipeline graph, per-component rates of received, sent, failed and
dropped items, exporter queue depths, cardinality against limits, the last
window of each ``top_contributors`` connector, the last warnings and errors,
and the running config with secrets redacted.

Rates come from the collector's own counters, sampled every ``interval``
into a bounded history. The host is the running
:class:`collector.service.Service`; its graph is read on every sample, so the
page follows a reload.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiohttp import web
from pydantic import Field

from collector.component import ComponentConfig, Factory, Host, Kind, Settings, Stability
from collector.config import redact
from collector.configtypes import Duration, PositiveInt
from collector.extensions.status import contributors, rates, snapshot
from collector.extensions.status.errorlog import RecentErrors
from collector.httpserver import HttpServer
from collector.tls import TLSServerConfig, server_context
from collector.periodic import Periodic
from collector.pdata import metrics as m

STATIC = Path(__file__).parent / "static"
_PAGES = {"/": "index.html", "/app.js": "app.js", "/style.css": "style.css"}


class StatusConfig(ComponentConfig):
    endpoint: str = Field("127.0.0.1:55679", description="Where to serve the page and its JSON API.")
    interval: Duration = Field(1.0, gt=0, description="How often the collector's counters are sampled.")
    history: PositiveInt = Field(
        120, ge=2, le=3600, description="Samples kept for rates and the per-exporter charts."
    )
    rate_window: Duration = Field(10.0, gt=0, description="Rates are averaged over about this long.")
    max_errors: PositiveInt = Field(50, le=1000, description="The last warnings and errors kept for the page.")
    tls: TLSServerConfig | None = Field(None, description="Serve HTTPS (and require client certificates if set).")


class StatusPage:
    def __init__(self, settings: Settings, config: StatusConfig) -> None:
        self._settings = settings
        self._config = config
        self._host: Any = None
        self._history = rates.History(config.history)
        self._errors = RecentErrors(config.max_errors)
        self._last: m.Metrics = m.Metrics([])
        self._graph: Any = None
        self._taps: dict[str, Any] = {}
        self._since = time.time()
        self._sampler = Periodic(config.interval, self.sample, name=f"{settings.id} sampling",
                                 logger=settings.logger)
        app = web.Application()
        for path, name in _PAGES.items():
            app.router.add_get(path, self._static(name))
        app.router.add_get("/api/status", self._status)
        self.server = HttpServer(app, config.endpoint,
                                 ssl_context=server_context(config.tls))

    async def start(self, host: Host) -> None:
        if self._sampler.running:
            return
        for needed in ("config", "telemetry"):
            if not hasattr(host, needed):
                raise RuntimeError(f"the status extension needs a host with .{needed} (the collector service)")
        self._host = host
        await self.server.start()
        logging.getLogger("fathom").addHandler(self._errors)
        self.sample()
        self._sampler.start()

    async def shutdown(self) -> None:
        logging.getLogger("fathom").removeHandler(self._errors)
        if self._sampler.running:
            await self._sampler.stop()
            await self.server.stop()

    # -- sampling ------------------------------------------------------------

    def sample(self) -> None:
        """Read the counters once; follow a new graph after a reload."""
        graph = getattr(self._host, "graph", None)
        if graph is not None and graph is not self._graph:
            self._graph, self._taps = graph, contributors.tap(graph, self._host.config)
        self._last = self._host.telemetry.collect()
        self._history.add(time.monotonic(), self._last, (snapshot.QUEUE_SIZE, snapshot.QUEUE_CAPACITY))

    # -- HTTP ----------------------------------------------------------------

    def _static(self, name: str) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

        return serve

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.status(), dumps=_dumps)

    def status(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready data."""
        host, config = self._host, self._host.config
        latest = self._history.samples[-1] if self._history.samples else None
        window = self._history.rates(self._config.rate_window)
        components: dict[str, dict[str, Any]] = {}
        for (kind, id, column), value in window.items():
            entry = components.setdefault(f"{kind}:{id}", {"kind": kind, "id": id, "rates": {}})
            entry["rates"][column] = round(value, 3)
        queues = snapshot.queues(config, latest.gauges if latest else {})
        nodes = [(n.kind, n.id, n.component) for n in self._graph.nodes] if self._graph is not None else []
        return {
            "time": time.time(),
            "since": self._since,
            "ready": bool(getattr(host, "is_ready", lambda: True)()),
            "interval": self._config.interval,
            "rate_window": self._config.rate_window,
            "graph": snapshot.graph(config),
            "components": list(components.values()),
            "queues": queues,
            "charts": {str(id): self._history.series(Kind.EXPORTER.value, str(id), rates.COLUMNS[1:],
                                                     snapshot.QUEUE_SIZE)
                       for kind, id in sorted(config.components) if kind is Kind.EXPORTER},
            "cardinality": snapshot.cardinality(config, nodes, self._last),
            "top_contributors": contributors.rankings(self._taps),
            "errors": self._errors.recent(),
            "config": yaml.safe_dump(redact(config.loaded.data), sort_keys=False, default_flow_style=False),
        }


def _dumps(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()


def create(settings: Settings, config: StatusConfig) -> StatusPage:
    return StatusPage(settings, config)


factory = Factory(
    type="status",
    kind=Kind.EXTENSION,
    config=StatusConfig,
    create=create,
    description="Serves a live status page: pipeline graph, rates, queues, cardinality, errors, config.",
    stability=Stability.ALPHA,
)
