"""A fault proxy between a real ``fathom run`` and a test backend, controlled by the test.

The proxy runs on a background event loop (:class:`LoopThread`) in the test
process, so a synchronous test can start ``fathom``, sleep and scrape while
the proxy keeps answering. Two fronts share one :class:`Control`:

- :class:`HttpFaultProxy` (aiohttp) sees each HTTP request, so it can answer
  a status of its choosing, hang, delay, reset the connection or cut the
  response short, request by request even on a keep-alive connection;
- :class:`TcpFaultProxy` (asyncio streams) sees only bytes, for any
  protocol (gRPC's HTTP/2): it passes, resets, hangs or delays connections,
  and can go down altogether (the port refuses connections) and come back.

A mode can apply to the next ``times`` requests (or connections) only, then
fall back to passing through, so a test can say "two 503s, then success"
without racing the collector's retries. Every attempt is recorded with the
fault it met and when, so a test can check the gap between retries.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Coroutine, Mapping, TypeVar

import aiohttp
from aiohttp import web

T = TypeVar("T")


class Fault(enum.Enum):
    PASS = "pass"
    STATUS = "status"  # answer ``status`` with ``headers``, never forwarding (HTTP only)
    RESET = "reset"  # RST the connection before forwarding
    TRUNCATE = "truncate"  # forward, then send the first half of the answer and reset (HTTP only)
    HANG = "hang"  # read the request, never answer
    DELAY = "delay"  # wait ``delay`` seconds, then pass


@dataclass(frozen=True)
class Mode:
    fault: Fault = Fault.PASS
    status: int = 503
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 0  # apply to this many requests, then pass; 0 is until the mode changes


@dataclass(frozen=True)
class Attempt:
    at: float  # time.monotonic()
    fault: Fault
    status: int = 0  # what the proxy (or the backend behind it) answered, HTTP only


class Control:
    """The mode and the attempt log, shared between the test thread and the proxy's loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mode = Mode()
        self._left = 0
        self.attempts: list[Attempt] = []

    def set(self, mode: Mode) -> None:
        with self._lock:
            self._mode, self._left = mode, mode.times

    @property
    def fault(self) -> Fault:
        return self._mode.fault

    def take(self) -> Mode:
        """The mode for one new attempt, counting down a limited one."""
        with self._lock:
            mode = self._mode
            if mode.times:
                self._left -= 1
                if self._left <= 0:
                    self._mode = Mode()
            return mode

    def record(self, fault: Fault, status: int = 0) -> None:
        with self._lock:
            self.attempts.append(Attempt(time.monotonic(), fault, status))

    def count(self, fault: Fault | None = None) -> int:
        with self._lock:
            return sum(1 for a in self.attempts if fault is None or a.fault is fault)

    def gaps(self) -> list[float]:
        """Seconds between consecutive attempts."""
        with self._lock:
            times = [a.at for a in self.attempts]
        return [b - a for a, b in zip(times, times[1:])]


class LoopThread:
    """An event loop in a daemon thread: backends and proxies live here, the test calls in."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fault-loop", daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coro`` on the loop; the test goes on meanwhile."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def _reset(transport: asyncio.BaseTransport | None) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed peer or a middlebox would."""
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]


class HttpFaultProxy:
    """HTTP/1.1 in front of ``upstream`` (a base URL), one fault decision per request."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.control = Control()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._hung: list[asyncio.Future[None]] = []

    async def start(self) -> "HttpFaultProxy":
        self._client = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=64 << 20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, auto_decompress=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        for hung in self._hung:
            hung.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        mode = self.control.take()
        body = await request.read()
        if mode.fault is Fault.STATUS:
            self.control.record(mode.fault, mode.status)
            return web.Response(status=mode.status, headers=dict(mode.headers), text=f"fault proxy: {mode.status}")
        if mode.fault is Fault.RESET:
            self.control.record(mode.fault)
            _reset(request.transport)
            raise asyncio.CancelledError  # nothing more to say on a dead connection
        if mode.fault is Fault.HANG:
            self.control.record(mode.fault)
            hung = asyncio.get_running_loop().create_future()
            self._hung.append(hung)
            await hung  # until the client gives up (the handler is cancelled) or the proxy stops
        if mode.fault is Fault.DELAY:
            await asyncio.sleep(mode.delay)
        status, headers, payload = await self._forward(request, body)
        self.control.record(mode.fault, status)
        if mode.fault is Fault.TRUNCATE:
            # Half of the whole answer, head included: an OTLP success body may be empty.
            head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Content-Length": len(payload)}.items())
            whole = f"HTTP/1.1 {status} X\r\n{head}\r\n".encode() + payload
            assert request.transport is not None
            request.transport.write(whole[: len(whole) // 2])
            _reset(request.transport)
            raise asyncio.CancelledError
        return web.Response(status=status, headers=headers, body=payload)

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self._client is not None
        skip = {"host", "content-length", "transfer-encoding", "connection"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in skip}
        async with self._client.request(request.method, self.upstream + request.path_qs, data=body,
                                        headers=headers) as answer:
            payload = await answer.read()
            keep = {k: v for k, v in answer.headers.items() if k.lower() not in skip | {"date", "server"}}
            return answer.status, keep, payload


class TcpFaultProxy:
    """Bytes in front of ``127.0.0.1:upstream_port``; one fault decision per connection.

    ``down()`` closes the listening socket so connections are refused, as for
    a backend that is not running; ``up()`` listens on the same port again.
    A switch to RESET also cuts connections already open, so a long-lived
    gRPC channel notices the fault.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.control = Control()
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> "TcpFaultProxy":
        await self.up()
        return self

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Refuse new connections and reset the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def stop(self) -> None:
        await self.down()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            await self._connection(reader, writer)
        except (asyncio.CancelledError, ConnectionError):
            _reset(writer.transport)
        finally:
            self._pipes.discard(task)
            writer.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.control.take()
        self.control.record(mode.fault)
        if mode.fault is Fault.RESET:
            _reset(writer.transport)
            return
        if mode.fault is Fault.HANG:
            await asyncio.Event().wait()  # hold the connection, read nothing, until cancelled
        if mode.fault is Fault.DELAY:
            await asyncio.sleep(mode.delay)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            up_writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if self.control.fault is Fault.RESET:
                raise ConnectionResetError("fault proxy: switched to reset")
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
