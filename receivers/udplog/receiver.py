"""The ``udplog`` receiver: log records in UDP datagrams (one per datagram, or newline-separated)."""

from __future__ import annotations

from typing import Mapping

from pydantic import Field

from collector.component import Consumer, Factory, Kind, Settings, Signal, Stability
from receivers.lines.config import Endpoint
from receivers.lines import LineIntake, SocketReceiver, SocketSourceConfig, UdpLineServer


class UdpLogConfig(SocketSourceConfig):
    listen_address: Endpoint = Field("127.0.0.1:54526", description="host:port to listen on.")


def create(settings: Settings, config: UdpLogConfig, consumers: Mapping[Signal, Consumer]) -> SocketReceiver:
    intake = LineIntake(settings, consumers.get(Signal.LOGS), encoding=config.encoding,
                        max_pending_bytes=config.max_pending_bytes)
    return SocketReceiver(intake, [UdpLineServer(config.listen_address, intake, max_line_size=config.max_log_size)])


factory = Factory(
    type="udplog",
    kind=Kind.RECEIVER,
    config=UdpLogConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA},
    description="Receives log records in UDP datagrams.",
)
