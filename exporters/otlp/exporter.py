"""The ``otlp`` exporter: OTLP/gRPC to a collector or vendor, on grpcio's asyncio channel.

Calls go through the services' ``Export`` method with no request serializer,
so a batch that arrived as OTLP bytes is sent as those bytes.
"""

from __future__ import annotations

import grpc
from pydantic import Field, field_validator

from collector.auth import AuthConfig, ClientAuthenticator, client_authenticator
from collector.component import Factory, Host, Kind, Settings, Signal, Stability
from collector.exporterhelper import ExporterConfig, PushExporter, QueuedExporter
from collector.pdata import Batch
from collector.pdata.otlp import WIRES, batch_bytes
from collector.tls import TLSClientConfig
from exporters.otlp.common import Compression, count_partial_success, grpc_error


class OtlpExporterConfig(ExporterConfig):
    endpoint: str = Field(..., description="host:port of the OTLP/gRPC server; an http:// prefix means no TLS.")
    tls: TLSClientConfig = Field(default_factory=TLSClientConfig, description="Transport security.")
    headers: dict[str, str] = Field(default_factory=dict, description="Metadata sent with every call.")
    compression: Compression = Field("gzip", description="Compress requests: gzip or none.")
    auth: AuthConfig | None = Field(None, description="Authenticate every call with this auth extension.")

    @field_validator("endpoint")
    @classmethod
    def _host_port(cls, value: str) -> str:
        rest = value.split("://", 1)[-1]
        host, sep, port = rest.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"invalid endpoint {value!r}: expected host:port, such as collector:4317")
        return value

    @property
    def target(self) -> str:
        return self.endpoint.split("://", 1)[-1]

    @property
    def plaintext(self) -> bool:
        return self.tls.insecure or self.endpoint.startswith("http://")


class OtlpGrpcPusher(PushExporter):
    def __init__(self, settings: Settings, config: OtlpExporterConfig) -> None:
        self._settings = settings
        self._config = config
        self._metadata = tuple((k.lower(), v) for k, v in config.headers.items())
        self._compression = grpc.Compression.Gzip if config.compression == "gzip" else grpc.Compression.NoCompression
        self._channel: grpc.aio.Channel | None = None
        self._calls: dict[Signal, grpc.aio.UnaryUnaryMultiCallable] = {}
        self._auth: ClientAuthenticator | None = None

    async def start(self, host: Host) -> None:
        config = self._config
        if config.auth is not None:
            self._auth = client_authenticator(host, config.auth)
        if config.plaintext:
            self._channel = grpc.aio.insecure_channel(config.target)
        else:
            self._channel = grpc.aio.secure_channel(config.target, config.tls.grpc_credentials(),
                                                    options=config.tls.grpc_options())
        self._calls = {
            signal: self._channel.unary_unary(wire.grpc_method, response_deserializer=wire.response.FromString)
            for signal, wire in WIRES.items()
        }

    async def shutdown(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def push(self, batch: Batch) -> None:
        wire = WIRES[batch.signal]
        metadata = self._metadata
        if self._auth is not None:
            metadata += tuple((k.lower(), v) for k, v in self._auth.headers().items())
        try:
            response = await self._calls[batch.signal](
                batch_bytes(batch), timeout=self._config.timeout or None, metadata=metadata,
                compression=self._compression,
            )
        except grpc.aio.AioRpcError as exc:
            raise grpc_error(exc.code(), exc.details() or "", exc.trailing_metadata()) from None
        count_partial_success(self._settings, wire, response)


def create(settings: Settings, config: OtlpExporterConfig) -> QueuedExporter:
    return QueuedExporter(settings, config, OtlpGrpcPusher(settings, config))


factory = Factory(
    type="otlp",
    kind=Kind.EXPORTER,
    config=OtlpExporterConfig,
    create=create,
    signals={Signal.LOGS: Stability.BETA, Signal.METRICS: Stability.BETA, Signal.TRACES: Stability.BETA},
    description="Sends logs, metrics and traces over OTLP/gRPC.",
)
