"""OTLP/HTTP: POST a protobuf or JSON Export*ServiceRequest, get the response or a Status.

Per opentelemetry-proto docs/specification.md, "OTLP/HTTP": the response has
the request's content type; every 4xx/5xx body is a ``google.rpc.Status``;
bodies are limited both as received and after decompression (413); bad data
is 400, an unknown media type or content coding 415, a refusing pipeline
429/503 with ``Retry-After``. Only signals with a consumer get a route, so
the others answer 404.
"""

from __future__ import annotations

import logging
import zlib
from functools import partial
from typing import Any, Callable, Mapping

from aiohttp import web

try:  # Python 3.14's zstd module, else its backport (the package aiohttp uses for zstd)
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    try:
        from backports import zstd  # type: ignore[no-redef]
    except ImportError:
        zstd = None  # type: ignore[assignment]
from google.protobuf.message import DecodeError

from collector.auth import ServerAuthenticator, Unauthenticated, server_authenticator
from collector.component import Consumer, Host, Settings, Signal
from collector.httpserver import HttpServer
from collector.tls import server_context
from receivers.otlp.config import HttpConfig
from receivers.otlp.cors import Cors
from receivers.otlp.intake import Outcome, Verdict, count_malformed, deliver
from receivers.otlp.wirecount import count_items
from collector.pdata import Batch
from collector.pdata.otlp import WIRES, Wire, from_json, to_json

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_STATUS = {Verdict.BAD_DATA: 400, Verdict.THROTTLED: 429, Verdict.UNAVAILABLE: 503}
#: Content-Encoding -> a fresh streaming decompressor (``decompress(data, max_length)``,
#: ``eof``, ``unused_data``: zlib's and zstd's objects share that interface).
_DECOMPRESSORS: dict[str, Callable[[], Any]] = {
    "gzip": partial(zlib.decompressobj, 16 + zlib.MAX_WBITS),
    "deflate": partial(zlib.decompressobj, zlib.MAX_WBITS),
}
_CORRUPT: tuple[type[Exception], ...] = (zlib.error,)
if zstd is not None:
    # A frame may ask for a window up to 2**27 bytes; bodies are capped at
    # tens of MiB anyway, so refuse more than 16 MiB of window per request.
    _DECOMPRESSORS["zstd"] = partial(zstd.ZstdDecompressor,
                                     options={zstd.DecompressionParameter.window_log_max: 24})
    _CORRUPT += (zstd.ZstdError,)
#: Codings whose body may be several members (gzip) or frames (zstd) back to back.
_CONCATENATED = frozenset({"gzip", "zstd"})


class _Refused(Exception):
    """A request refused before it reached the pipeline: HTTP status, counter reason, message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


def decompress(body: bytes, coding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding``, never producing more than ``limit`` bytes.

    Raises ``_Refused``: 413 past the limit (a compression bomb stops there,
    cheaply), 400 for a corrupt stream, 415 for an unknown coding.
    """
    coding = coding.strip().lower()
    if coding in ("", "identity"):
        return body
    decompressor = _DECOMPRESSORS.get(coding)
    if decompressor is None:
        raise _Refused(415, "unsupported_encoding",
                       f"unsupported Content-Encoding {coding!r}: use {', '.join(_DECOMPRESSORS)} or none")
    parts: list[bytes] = []
    size = 0
    data = body
    try:
        while True:
            stream = decompressor()
            part = stream.decompress(data, limit - size + 1)
            size += len(part)
            if size > limit:
                raise _Refused(413, "too_large", f"decompressed body exceeds {limit} bytes")
            if not stream.eof:
                raise _Refused(400, "bad_encoding", f"truncated {coding} body")
            parts.append(part)
            data = stream.unused_data
            if not data or coding not in _CONCATENATED:
                break
    except _CORRUPT as exc:
        raise _Refused(400, "bad_encoding", f"corrupt {coding} body: {exc}") from None
    return b"".join(parts)


class HttpReceiver:
    """The OTLP/HTTP listener of one ``otlp`` receiver."""

    def __init__(self, config: HttpConfig, consumers: Mapping[Signal, Consumer], settings: Settings) -> None:
        self._config = config
        self._settings = settings
        self._log: logging.Logger = settings.logger
        self._cors = Cors(config.cors) if config.cors is not None else None
        self._auth: ServerAuthenticator | None = None
        app = web.Application(client_max_size=config.max_request_body_size)
        for signal, consumer in consumers.items():
            path = config.path(signal)
            app.router.add_post(path, self._handler(WIRES[signal], consumer))
            if self._cors is not None:
                app.router.add_route("OPTIONS", path, self._preflight)
        self._server = HttpServer(
            app, config.endpoint,
            ssl_context=server_context(config.tls),
            auto_decompress=False,  # we decompress ourselves, with a bound
        )

    @property
    def port(self) -> int:
        return self._server.port

    async def start(self, host: Host) -> None:
        if self._config.auth is not None:
            self._auth = server_authenticator(host, self._config.auth)
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    async def _preflight(self, request: web.Request) -> web.Response:
        assert self._cors is not None
        return self._cors.preflight(request)

    def _handler(self, wire: Wire, consumer: Consumer):  # type: ignore[no-untyped-def]
        success = {PROTOBUF: wire.response().SerializeToString(), JSON: to_json(wire.response())}

        async def handle(request: web.Request) -> web.Response:
            media = request.content_type.lower()
            try:
                self._authenticate(request)
                batch = await self._batch(request, wire, media)
            except _Refused as exc:
                count_malformed(self._settings, exc.reason, "http")
                answer = Outcome(Verdict.BAD_DATA, str(exc))
                response = self._answer(answer, media, exc.status)
            else:
                outcome = await deliver(consumer, batch, self._log)
                if outcome.verdict is Verdict.ACCEPTED:
                    response = web.Response(body=success[media], content_type=media)
                else:
                    response = self._answer(outcome, media, _STATUS[outcome.verdict])
            if self._cors is not None:
                self._cors.decorate(request, response)
            return response

        return handle

    def _authenticate(self, request: web.Request) -> None:
        """Before the body is read, so an unauthenticated client costs no decoding."""
        if self._auth is not None:
            try:
                self._auth.authenticate(request.headers)
            except Unauthenticated as exc:
                raise _Refused(401, "unauthenticated", str(exc)) from None

    async def _batch(self, request: web.Request, wire: Wire, media: str) -> Batch:
        """The request as a batch: protobuf stays the bytes received, checked and counted, not parsed."""
        if media not in (PROTOBUF, JSON):
            raise _Refused(415, "unsupported_media_type",
                           f"unsupported Content-Type {media!r}: use {PROTOBUF} or {JSON}")
        limit = self._config.max_request_body_size
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _Refused(413, "too_large", f"request body exceeds {limit} bytes") from None
        body = decompress(body, request.headers.get("Content-Encoding", ""), limit)
        if media == JSON:
            try:
                return wire.batch(from_json(wire.request, body))
            except ValueError as exc:
                raise _Refused(400, "bad_json", f"cannot parse {wire.request.__name__} from JSON: {exc}") from None
        try:
            return wire.batch_of_bytes(body, count_items(wire.signal, body))
        except DecodeError as exc:
            raise _Refused(400, "bad_protobuf", f"cannot parse {wire.request.__name__}: {exc}") from None

    @staticmethod
    def _answer(outcome: Outcome, media: str, http_status: int) -> web.Response:
        """A failure response: a Status in the request's encoding (protobuf if that was unusable)."""
        status = outcome.status()
        if media == JSON:
            body, content_type = to_json(status), JSON
        else:
            body, content_type = status.SerializeToString(), PROTOBUF
        headers = {}
        if outcome.verdict in (Verdict.THROTTLED, Verdict.UNAVAILABLE):
            headers["Retry-After"] = outcome.retry_after_header()
        return web.Response(status=http_status, body=body, content_type=content_type, headers=headers)
