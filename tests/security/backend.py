"""A TLS test peer for our exporters: an OTLP/gRPC server and an HTTPS server that record what they get.

Built from grpcio and aiohttp directly (not from fathom's receiver), so a
round trip tests our client TLS against an independent server.
"""

from __future__ import annotations

import ssl
from typing import Any

import grpc
from aiohttp import web

from collector.pdata.otlp import WIRES


class TlsBackend:
    def __init__(self, server_ssl: ssl.SSLContext, grpc_credentials: grpc.ServerCredentials) -> None:
        self._ssl = server_ssl
        self._credentials = grpc_credentials
        #: (path or gRPC method, headers or metadata, body)
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self._grpc: grpc.aio.Server | None = None
        self._runner: web.AppRunner | None = None
        self.grpc_port = self.https_port = 0

    async def start(self) -> "TlsBackend":
        server = grpc.aio.server()
        for wire in WIRES.values():
            server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
                wire.service, {"Export": grpc.unary_unary_rpc_method_handler(self._grpc_export(wire))})])
        self.grpc_port = server.add_secure_port("127.0.0.1:0", self._credentials)
        await server.start()
        self._grpc = server
        app = web.Application()
        app.router.add_post("/{path:.*}", self._http_export)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        self.https_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop(None)
        if self._runner is not None:
            await self._runner.cleanup()

    def _grpc_export(self, wire: Any):  # type: ignore[no-untyped-def]
        async def export(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
            self.received.append((wire.service, dict(context.invocation_metadata() or ()), raw))
            return b""

        return export

    async def _http_export(self, request: web.Request) -> web.Response:
        self.received.append((request.path, dict(request.headers), await request.read()))
        return web.Response(body=b"", content_type="application/x-protobuf")
