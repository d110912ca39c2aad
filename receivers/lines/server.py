"""TCP and UDP line servers on asyncio, feeding a :class:`LineIntake`.

Bounded everywhere: connections beyond ``max_connections`` are closed at
once, connections silent for ``idle_timeout`` are closed (their slot freed),
lines beyond ``max_line_size`` are cut, a full intake pauses reading.
Each case is counted under ``fathom_receiver_bad_input`` and never stops the
server. A half-closed connection (the peer's EOF) hands on its last,
unterminated line and is closed.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from typing import Any

from collector.component import Signal
from collector.httpserver import parse_endpoint
from receivers.lines.delivery import bad_input
from receivers.lines.framing import LineFramer, Lines
from receivers.lines.intake import LineIntake


def _bound_port(server: Any, fallback: int) -> int:
    sockets = getattr(server, "sockets", None)
    return sockets[0].getsockname()[1] if sockets else fallback


class _Framed:
    """Frames a source's bytes and passes the records to the intake, counting cut lines."""

    def __init__(self, intake: LineIntake, max_line_size: int) -> None:
        self.intake = intake
        self.framer = LineFramer(max_line_size)

    def pass_on(self, lines: Lines | None) -> bool:
        if self.framer.too_long:
            bad_input(self.intake.settings, "too_long", self.framer.too_long)
            self.framer.too_long = 0
        return lines is None or self.intake.put(lines)


class _Connection(asyncio.Protocol, _Framed):
    def __init__(self, server: "TcpLineServer") -> None:
        _Framed.__init__(self, server.intake, server.max_line_size)
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.last_active = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if len(self.server.connections) >= self.server.max_connections:
            bad_input(self.intake.settings, "too_many_connections", 1)
            transport.abort()
            return
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport
        self.server.connections.add(self)
        if self.intake.full:
            self.intake.pause(transport)

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        self.pass_on(self.framer.feed(data))
        if self.intake.full and self.transport is not None:
            self.intake.pause(self.transport)

    def eof_received(self) -> bool:
        self.pass_on(self.framer.flush())
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:
            return
        self.pass_on(self.framer.flush())
        self.intake.forget(self.transport)
        self.server.connections.discard(self)
        self.transport = None


class TcpLineServer:
    """Newline-delimited records over TCP (optionally TLS), between ``start`` and ``stop``."""

    def __init__(self, endpoint: str, intake: LineIntake, *, max_connections: int, max_line_size: int,
                 ssl_context: ssl.SSLContext | None = None, idle_timeout: float = 0) -> None:
        self.host, self._port = parse_endpoint(endpoint)
        self.intake = intake
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self._sweeper: asyncio.Task[None] | None = None
        self.max_line_size = max_line_size
        self._ssl = ssl_context
        self.connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port: differs from the configured one when that was 0."""
        return _bound_port(self._server, self._port)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _Connection(self), self.host, self._port, ssl=self._ssl, reuse_address=True,
                backlog=1024,
            )
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on tcp {self.host}:{self._port}: {exc.strerror}") from exc
        if self.idle_timeout > 0:
            self._sweeper = loop.create_task(self._close_idle())

    async def _close_idle(self) -> None:
        """Closes connections the peer left silent for ``idle_timeout`` (not those we paused), counted."""
        while True:
            await asyncio.sleep(min(self.idle_timeout / 4, 1.0))
            limit = time.monotonic() - self.idle_timeout
            for connection in list(self.connections):
                transport = connection.transport
                if transport is not None and connection.last_active <= limit and not self.intake.paused(transport):
                    bad_input(self.intake.settings, "idle_timeout", 1)
                    transport.close()  # connection_lost hands on an unterminated last line

    async def stop(self) -> None:
        """Stops listening, closes connections; their unterminated last lines are handed on."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        await asyncio.sleep(0)  # let connection_lost run for each
        for connection in list(self.connections):
            connection.connection_lost(None)
        await server.wait_closed()


class _Datagrams(asyncio.DatagramProtocol, _Framed):
    """Each datagram holds whole records: one, or several separated by newlines."""

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.intake.full:  # datagrams cannot be paused: drop and count
            self.intake.settings.telemetry.add_items("otelcol_receiver_refused", Signal.LOGS, 1)
            return
        if len(data) <= self.framer.max_line_size and data.find(b"\n") in (-1, len(data) - 1):
            # the usual datagram: one record, maybe newline-terminated; no framing state needed
            self.intake.put(Lines(data[:-1] if data.endswith(b"\n") else data, 1))
            return
        lines = self.framer.feed(data)
        last = self.framer.flush()
        if last is not None:
            lines = last if lines is None else Lines(lines.data + b"\n" + last.data, lines.count + 1)
        self.pass_on(lines)

    def error_received(self, exc: Exception) -> None:
        bad_input(self.intake.settings, "socket_error", 1)


class UdpLineServer:
    """Records in UDP datagrams, between ``start`` and ``stop``."""

    def __init__(self, endpoint: str, intake: LineIntake, *, max_line_size: int,
                 receive_buffer_bytes: int = 4 << 20) -> None:
        self.host, self._port = parse_endpoint(endpoint)
        self.intake = intake
        self.max_line_size = max_line_size
        self._rcvbuf = receive_buffer_bytes
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        if self._transport is not None:
            return self._transport.get_extra_info("sockname")[1]
        return self._port

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self.intake, self.max_line_size), local_addr=(self.host, self._port)
            )
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on udp {self.host}:{self._port}: {exc.strerror}") from exc
        sock = self._transport.get_extra_info("socket")
        try:  # bursts of datagrams outlast a short pause of the loop only with a large kernel buffer
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._rcvbuf)
        except OSError:
            pass

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
