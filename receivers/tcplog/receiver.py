"""The ``tcplog`` receiver: newline-delimited records over TCP or TLS, for apps that write to a socket."""

from __future__ import annotations

from typing import Mapping

from pydantic import Field

from collector.component import Consumer, Factory, Kind, Settings, Signal, Stability
from collector.configtypes import Duration, PositiveInt
from receivers.lines.config import Endpoint
from receivers.lines import LineIntake, SocketReceiver, SocketSourceConfig, TcpLineServer
from collector.tls import TLSServerConfig, server_context


class TcpLogConfig(SocketSourceConfig):
    listen_address: Endpoint = Field("127.0.0.1:54525", description="host:port to listen on.")
    max_connections: PositiveInt = Field(
        1000, description="Connections served at once; more are closed at once and counted."
    )
    tls: TLSServerConfig | None = Field(None, description="Serve TLS (cert_file, key_file) instead of plain TCP.")
    idle_timeout: Duration = Field(
        0.0, ge=0, description="Close a connection that sent nothing for this long, freeing its slot among "
        "max_connections (an unterminated last line is handed on; counted as "
        "fathom_receiver_bad_input{reason=\"idle_timeout\"}); 0 never closes one."
    )


def create(settings: Settings, config: TcpLogConfig, consumers: Mapping[Signal, Consumer]) -> SocketReceiver:
    intake = LineIntake(settings, consumers.get(Signal.LOGS), encoding=config.encoding,
                        max_pending_bytes=config.max_pending_bytes)
    server = TcpLineServer(config.listen_address, intake, max_connections=config.max_connections,
                           max_line_size=config.max_log_size,
                           ssl_context=server_context(config.tls),
                           idle_timeout=config.idle_timeout)
    return SocketReceiver(intake, [server])


factory = Factory(
    type="tcplog",
    kind=Kind.RECEIVER,
    config=TcpLogConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA},
    description="Receives newline-delimited log records over TCP or TLS.",
)
