"""A test OTLP backend: the proto packages' gRPC servicers and an aiohttp OTLP/HTTP app.

It records every request it gets as a message, and can be told to answer
with an error or a partial success.
"""

from __future__ import annotations

from typing import Any

import grpc
from aiohttp import web
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from collector.component import Signal
from collector.pdata.otlp import WIRES, from_json, to_json


class Backend:
    def __init__(self) -> None:
        self.received: dict[Signal, list[Message]] = {s: [] for s in Signal}
        self.metadata: list[dict[str, str]] = []
        self.http_headers: list[dict[str, str]] = []
        #: set to make the next answers a failure: (grpc code, details, trailing metadata) or (http status, headers)
        self.grpc_failure: tuple[grpc.StatusCode, str, tuple[Any, ...]] | None = None
        self.http_failure: tuple[int, dict[str, str]] | None = None
        self.partial: dict[Signal, Message] = {}
        self._grpc: grpc.aio.Server | None = None
        self._runner: web.AppRunner | None = None
        self.grpc_port = self.http_port = 0

    async def start(self) -> "Backend":
        server = grpc.aio.server()
        for module, name, signal in (
            (logs_service_pb2_grpc, "LogsService", Signal.LOGS),
            (metrics_service_pb2_grpc, "MetricsService", Signal.METRICS),
            (trace_service_pb2_grpc, "TraceService", Signal.TRACES),
        ):
            servicer = type(f"Recording{name}", (getattr(module, f"{name}Servicer"),),
                            {"Export": self._grpc_export(signal)})()
            getattr(module, f"add_{name}Servicer_to_server")(servicer, server)
        self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._grpc = server
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for signal, wire in WIRES.items():
            app.router.add_post(wire.default_path, self._http_export(signal))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.http_port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop(None)
        if self._runner is not None:
            await self._runner.cleanup()

    def _grpc_export(self, signal: Signal):  # type: ignore[no-untyped-def]
        async def export(_self: Any, request: Message, context: grpc.aio.ServicerContext) -> Message:
            self.metadata.append(dict(context.invocation_metadata()))
            if self.grpc_failure is not None:
                code, details, trailers = self.grpc_failure
                await context.abort(code, details, trailing_metadata=trailers)
            self.received[signal].append(request)
            return self.partial.get(signal) or WIRES[signal].response()

        return export

    def _http_export(self, signal: Signal):  # type: ignore[no-untyped-def]
        wire = WIRES[signal]

        async def export(request: web.Request) -> web.Response:
            self.http_headers.append(dict(request.headers))
            body = await request.read()  # aiohttp undoes Content-Encoding
            if self.http_failure is not None:
                status, headers = self.http_failure
                return web.Response(status=status, headers=headers)
            json = request.content_type == "application/json"
            msg = from_json(wire.request, body) if json else wire.request.FromString(body)
            self.received[signal].append(msg)
            reply = self.partial.get(signal) or wire.response()
            if json:
                return web.Response(body=to_json(reply), content_type="application/json")
            return web.Response(body=reply.SerializeToString(), content_type="application/x-protobuf")

        return export
