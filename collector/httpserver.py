"""One way to serve HTTP: an aiohttp application on a configured endpoint.

Shared by every listener (the OTLP/HTTP receiver, the Prometheus exporter,
health_check, the collector's own metrics) so endpoint parsing, the loopback
default and clean shutdown are written once.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiohttp import web


def parse_endpoint(endpoint: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``host:port``, ``:port`` (loopback) or ``[::1]:port`` to ``(host, port)``.

    Raises ``ValueError`` naming the endpoint.
    """
    host, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid endpoint {endpoint!r}: expected host:port, such as 127.0.0.1:4318")
    host = host.strip("[]") or default_host
    return host, int(port)


#: Requests one listener serves at once; more are answered 503 with Retry-After.
DEFAULT_MAX_CONCURRENT_REQUESTS = 256


class HttpServer:
    """Serves ``app`` on ``endpoint`` between ``start`` and ``stop``.

    At most ``max_concurrent_requests`` requests are handled at once: a flood
    of clients gets quick 503s (retryable for OTLP senders) instead of
    growing the process's memory with a request body per connection.
    """

    def __init__(self, app: web.Application, endpoint: str, *, ssl_context: ssl.SSLContext | None = None,
                 max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS, **runner_options: Any) -> None:
        self.app = app
        self.host, self._port = parse_endpoint(endpoint)
        self._ssl = ssl_context
        self._in_flight = 0
        self._max_in_flight = max_concurrent_requests
        self.refused = 0  # requests answered 503 for being over the limit
        app.middlewares.append(self._bounded)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, **runner_options)
        self._site: web.TCPSite | None = None

    @web.middleware
    async def _bounded(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self._in_flight >= self._max_in_flight:
            self.refused += 1
            return web.Response(status=503, text="too many concurrent requests", headers={"Retry-After": "1"})
        self._in_flight += 1
        try:
            return await handler(request)
        finally:
            self._in_flight -= 1

    @property
    def port(self) -> int:
        """The bound port: differs from the configured one when that was 0."""
        if self._site is not None and self._runner.addresses:
            return self._runner.addresses[0][1]
        return self._port

    async def start(self) -> None:
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self._port, ssl_context=self._ssl, reuse_address=True)
        try:
            await self._site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._site = None
            raise OSError(exc.errno, f"cannot listen on {self.host}:{self._port}: {exc.strerror}") from exc

    async def stop(self) -> None:
        if self._site is not None:
            self._site = None
            await self._runner.cleanup()
