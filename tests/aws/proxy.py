"""A small HTTP proxy in front of the emulator that injects faults and records requests.

Faults are queued per operation (the ``X-Amz-Target`` of the JSON
protocols, e.g. ``PutLogEvents``) and each answers one matching request in
place of the emulator; a ``None`` in the queue lets one request through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

FAULTS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "unavailable": (503, "ServiceUnavailableException", "Service unavailable"),
    "invalid": (400, "InvalidParameterException", "Invalid parameter"),
}


@dataclass
class Seen:
    operation: str
    headers: dict[str, str]
    body: bytes  # decompressed, if it came gzipped
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FaultProxy:
    upstream: str
    faults: dict[str, list[str]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def inject(self, operation: str, *kinds: str | None) -> None:
        self.faults.setdefault(operation, []).extend(kinds)

    def calls(self, operation: str) -> list[Seen]:
        return [s for s in self.seen if s.operation == operation]

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._session.close()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        pending = self.faults.get(operation)
        fault = pending.pop(0) if pending else None
        if fault is not None:
            status, code, message = FAULTS[fault]
            self.seen.append(Seen(operation, dict(request.headers), body, status))
            return web.json_response({"__type": code, "message": message}, status=status,
                                     content_type="application/x-amz-json-1.1")
        # aiohttp's server has already decompressed a gzip body: forward it plain.
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length", "content-encoding")}
        async with self._session.request(request.method, self.upstream + request.path_qs, data=body,
                                         headers=headers) as reply:
            payload = await reply.read()
            self.seen.append(Seen(operation, dict(request.headers), body, reply.status))
            keep = {k: v for k, v in reply.headers.items()
                    if k.lower() in ("content-type", "x-amzn-requestid", "content-encoding")}
            return web.Response(status=reply.status, body=payload, headers=keep)
