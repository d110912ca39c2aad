"""The running collector: extensions, pipelines, own metrics, and their lifecycle.

``run()`` reads as start-up, main loop, shutdown. SIGTERM or SIGINT starts a
graceful shutdown bounded by ``service.shutdown_timeout``; a second SIGINT
forces exit. SIGHUP reloads: the new config is loaded and checked first, and
only a valid one replaces the running pipelines, after they have drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import Any, Callable, Iterator

from collector.component import ComponentID, Kind, Settings
from collector.config import ConfigErrors
from collector.graph import Graph, StartError, build
from collector.resolve import ResolvedConfig
from collector.telemetry import Telemetry
from collector.telemetry_server import TelemetryServer

log = logging.getLogger("fathom.service")


class Service:
    """Owns one set of running pipelines at a time; implements :class:`collector.component.Host`."""

    def __init__(self, config: ResolvedConfig, telemetry: Telemetry | None = None) -> None:
        self.config = config
        self.telemetry = telemetry or Telemetry()
        self.graph: Graph | None = None
        self.ready = False
        self.shutting_down = False
        self._extensions: dict[ComponentID, Any] = {}
        self._telemetry_server: TelemetryServer | None = None

    # -- Host --------------------------------------------------------------

    def get_extension(self, id: ComponentID) -> Any | None:
        return self._extensions.get(id)

    def is_ready(self) -> bool:
        return self.ready and not self.shutting_down

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        metrics = self.config.service.telemetry.metrics
        if metrics.level != "none":
            self._telemetry_server = TelemetryServer(self.telemetry, metrics.address)
            await self._telemetry_server.start()
        await self._start_extensions(self.config)
        self.graph = build(self.config, self.telemetry)
        await self.graph.start(self)
        self.ready = True
        log.info("collector started", extra={"pipelines": sorted(self.config.pipelines)})

    async def _start_extensions(self, config: ResolvedConfig) -> None:
        for id in config.extensions:
            spec = config.spec(Kind.EXTENSION, id)
            settings = _extension_settings(self.telemetry, id)
            extension = spec.factory.create(settings, spec.config)
            try:
                await extension.start(self)
            except Exception as exc:
                raise StartError(f"extension {str(id)!r} failed to start: {exc}") from exc
            self._extensions[id] = extension

    async def _stop_extensions(self) -> None:
        for id, extension in reversed(list(self._extensions.items())):
            try:
                await asyncio.wait_for(extension.shutdown(), 5.0)
            except Exception:
                log.exception("extension %r failed to shut down", str(id))
        self._extensions.clear()

    async def shutdown(self) -> None:
        self.shutting_down = True
        if self.graph is not None:
            await self.graph.shutdown(self.config.service.shutdown_timeout)
            self.graph = None
        await self._stop_extensions()
        if self._telemetry_server is not None:
            await self._telemetry_server.stop()
            self._telemetry_server = None
        log.info("collector stopped")

    async def reload(self, config: ResolvedConfig) -> None:
        """Swap in a checked config: stop the old pipelines, then start the new ones.

        Components are created before anything is stopped, so a factory
        error leaves the running pipelines untouched. A stateful component
        that the new config keeps (same kind, id and type) hands its state
        (queued batches, cumulative series, read positions) to its
        successor; the others drain. If the new pipelines fail to start (a
        port still bound, say), the old config is rebuilt.
        """
        new_graph = build(config, self.telemetry)
        old_config = self.config
        self.ready = False
        if self.graph is not None:
            await self.graph.shutdown(old_config.service.shutdown_timeout, successor=new_graph)
        await self._stop_extensions()
        try:
            await self._start_extensions(config)
            await new_graph.start(self)
        except (StartError, OSError) as exc:
            log.error("new config failed to start (%s); restoring the previous one", exc)
            restored = build(old_config, self.telemetry)
            await new_graph.shutdown(config.service.shutdown_timeout, successor=restored)
            await self._stop_extensions()
            await self._start_extensions(old_config)
            self.graph = restored
            await restored.start(self)
            self.ready = True
            raise StartError(str(exc)) from exc
        self.config, self.graph, self.ready = config, new_graph, True
        log.info("configuration reloaded", extra={"pipelines": sorted(config.pipelines)})


def _extension_settings(telemetry: Telemetry, id: ComponentID) -> Settings:
    return Settings(id, Kind.EXTENSION, logging.getLogger(f"fathom.extension.{id}"),
                    telemetry.for_component(id, Kind.EXTENSION))


async def run(load: Callable[[], ResolvedConfig]) -> int:
    """Run until SIGTERM/SIGINT; reload on SIGHUP. Returns the process exit code."""
    service = Service(load())
    stop = asyncio.Event()
    reload_requested = asyncio.Event()
    with _signal_handlers(stop, reload_requested):
        try:
            await service.start()
        except (StartError, OSError) as exc:
            log.error("start-up failed: %s", exc)
            await service.shutdown()
            return 1
        while not stop.is_set():
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(reload_requested.wait())]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
            if reload_requested.is_set() and not stop.is_set():
                reload_requested.clear()
                await _reload(service, load)
        log.info("shutting down")
        await service.shutdown()
    return 0


async def _reload(service: Service, load: Callable[[], ResolvedConfig]) -> None:
    try:
        config = load()
    except ConfigErrors as exc:
        log.error("reload rejected; the running pipelines continue:\n%s", exc)
        return
    try:
        await service.reload(config)
    except StartError as exc:
        log.error("reload failed: %s", exc)
    except Exception:
        log.exception("reload failed")


@contextlib.contextmanager
def _signal_handlers(stop: asyncio.Event, reload_requested: asyncio.Event) -> Iterator[None]:
    """Install handlers on the running loop and remove them on exit."""
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            log.error("second interrupt: exiting without draining")
            logging.shutdown()
            os._exit(130)
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    loop.add_signal_handler(signal.SIGHUP, reload_requested.set)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
