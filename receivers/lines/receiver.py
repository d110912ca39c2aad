"""A receiver made of line servers feeding one intake: the shape of tcplog, udplog and emf."""

from __future__ import annotations

from typing import Sequence, Union

from collector.component import Host
from receivers.lines.intake import LineIntake
from receivers.lines.server import TcpLineServer, UdpLineServer

Server = Union[TcpLineServer, UdpLineServer]


class SocketReceiver:
    """Starts the intake before the servers and stops it after them, so no line is left behind."""

    def __init__(self, intake: LineIntake, servers: Sequence[Server]) -> None:
        self.intake = intake
        self.servers = list(servers)
        self._running: list[Server] = []
        self._stopped = False

    async def start(self, host: Host) -> None:
        if self._running or self._stopped:
            return
        self.intake.start()
        for server in self.servers:
            try:
                await server.start()
            except BaseException:
                await self.shutdown()
                raise
            self._running.append(server)

    async def shutdown(self) -> None:
        self._stopped = True
        while self._running:
            await self._running.pop().stop()
        await self.intake.stop()
