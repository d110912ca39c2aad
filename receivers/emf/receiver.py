"""The ``emf`` receiver: a drop-in for the CloudWatch agent's embedded-metric-format listener.

Clients in agent mode (``AWS_EMF_AGENT_ENDPOINT=tcp://127.0.0.1:25888`` or
``udp://...``) write one compact JSON event per line over TCP, or one per UDP
datagram. The agent listens on both transports at 25888; so does this
receiver by default. Events stay raw lines; their log group and stream
become record attributes for exporters that route by them.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from collector.component import Consumer, Factory, Kind, Settings, Signal, Stability
from collector.configtypes import PositiveInt
from receivers.emf.routing import route
from receivers.lines.config import Endpoint
from receivers.lines import LineIntake, SocketReceiver, SocketSourceConfig, TcpLineServer, UdpLineServer
from receivers.lines.receiver import Server


class EmfConfig(SocketSourceConfig):
    tcp_endpoint: Endpoint = Field("127.0.0.1:25888", description="host:port of the TCP listener; empty turns it off.")
    udp_endpoint: Endpoint = Field("127.0.0.1:25888", description="host:port of the UDP listener; empty turns it off.")
    service_address: str = Field(
        "",
        description="The CloudWatch agent's key (`tcp://127.0.0.1:25888` or `udp://...`): when set, only that "
        "transport is served, on that address, and the two endpoints above are ignored.",
    )
    max_connections: PositiveInt = Field(1000, description="TCP connections served at once; more are closed and counted.")

    @field_validator("service_address")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("tcp", "udp") or not parts.netloc:
                raise ValueError(f"invalid service_address {value!r}: expected tcp://host:port or udp://host:port")
        return value

    @model_validator(mode="after")
    def _some_transport(self) -> "EmfConfig":
        if not (self.service_address or self.tcp_endpoint or self.udp_endpoint):
            raise ValueError("enable at least one of tcp_endpoint, udp_endpoint or service_address")
        return self

    def endpoints(self) -> tuple[str, str]:
        """``(tcp, udp)`` host:port, empty where off."""
        if self.service_address:
            parts = urlsplit(self.service_address)
            return (parts.netloc, "") if parts.scheme == "tcp" else ("", parts.netloc)
        return self.tcp_endpoint, self.udp_endpoint


def create(settings: Settings, config: EmfConfig, consumers: Mapping[Signal, Consumer]) -> SocketReceiver:
    intake = LineIntake(settings, consumers.get(Signal.LOGS), encoding=config.encoding, router=route,
                        max_pending_bytes=config.max_pending_bytes)
    tcp, udp = config.endpoints()
    servers: list[Server] = []
    if tcp:
        servers.append(TcpLineServer(tcp, intake, max_connections=config.max_connections,
                                     max_line_size=config.max_log_size))
    if udp:
        servers.append(UdpLineServer(udp, intake, max_line_size=config.max_log_size))
    return SocketReceiver(intake, servers)


factory = Factory(
    type="emf",
    kind=Kind.RECEIVER,
    config=EmfConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA},
    description="Receives CloudWatch embedded-metric-format events over TCP and UDP, as the CloudWatch agent does.",
)
