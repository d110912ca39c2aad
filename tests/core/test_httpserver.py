"""The shared HTTP listener: loopback by default, and bounded under a flood."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from collector.httpserver import HttpServer, parse_endpoint


def test_endpoints_default_to_loopback():
    assert parse_endpoint(":4318") == ("127.0.0.1", 4318)
    assert parse_endpoint("[::1]:9464") == ("::1", 9464)
    with pytest.raises(ValueError, match="invalid endpoint 'localhost': expected host:port"):
        parse_endpoint("localhost")


async def test_requests_over_the_limit_get_a_quick_503():
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", slow)
    server = HttpServer(app, "127.0.0.1:0", max_concurrent_requests=3)
    await server.start()
    async with aiohttp.ClientSession() as session:
        async def get() -> tuple[int, str | None]:
            async with session.get(f"http://127.0.0.1:{server.port}/") as response:
                await response.read()
                return response.status, response.headers.get("Retry-After")

        held = [asyncio.ensure_future(get()) for _ in range(3)]
        await asyncio.sleep(0.1)
        assert await get() == (503, "1")
        release.set()
        assert [await h for h in held] == [(200, None)] * 3
        assert (await get())[0] == 200
    assert server.refused == 1
    await server.stop()
