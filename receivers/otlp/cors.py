"""CORS for the OTLP/HTTP endpoint, so browser SDKs can post telemetry.

Follows the Fetch standard's CORS protocol as the Collector's ``cors``
settings do: a preflight ``OPTIONS`` is answered 204, with the allow headers
only when the origin, method and requested headers are all allowed (a browser
then blocks the real request on its own); an allowed origin's ``POST`` gets
``Access-Control-Allow-Origin``.
"""

from __future__ import annotations

import re

from aiohttp import web

from receivers.otlp.config import CorsConfig

#: Headers OTLP senders need; always allowed.
_BASE_HEADERS = frozenset({"accept", "content-type", "content-encoding", "x-requested-with"})


class Cors:
    def __init__(self, config: CorsConfig) -> None:
        self._any_origin = "*" in config.allowed_origins
        self._origins = [
            re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", o)),
                       re.IGNORECASE)
            for o in config.allowed_origins
        ]
        self._any_header = "*" in config.allowed_headers
        self._headers = _BASE_HEADERS | {h.lower() for h in config.allowed_headers}
        self._max_age = config.max_age

    def origin_allowed(self, origin: str) -> bool:
        return any(p.fullmatch(origin) for p in self._origins)

    def preflight(self, request: web.Request) -> web.Response:
        headers = {"Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
        origin = request.headers.get("Origin", "")
        method = request.headers.get("Access-Control-Request-Method", "")
        asked = [h.strip() for h in request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()]
        headers_ok = self._any_header or all(h.lower() in self._headers for h in asked)
        if origin and method.upper() == "POST" and headers_ok and self.origin_allowed(origin):
            headers["Access-Control-Allow-Origin"] = "*" if self._any_origin else origin
            headers["Access-Control-Allow-Methods"] = "POST"
            if asked:
                headers["Access-Control-Allow-Headers"] = ", ".join(asked)
            if self._max_age:
                headers["Access-Control-Max-Age"] = str(self._max_age)
        return web.Response(status=204, headers=headers)

    def decorate(self, request: web.Request, response: web.StreamResponse) -> None:
        """Add the allow header to a real (non-preflight) response."""
        origin = request.headers.get("Origin")
        if origin and self.origin_allowed(origin):
            response.headers["Access-Control-Allow-Origin"] = "*" if self._any_origin else origin
            response.headers["Vary"] = "Origin"
