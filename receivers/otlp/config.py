"""Config of the ``otlp`` receiver, key for key as the OpenTelemetry Collector reads it."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from collector.auth import AuthConfig
from collector.component import ComponentConfig, Signal
from collector.configtypes import PositiveInt
from collector.tls import TLSServerConfig


class GrpcConfig(ComponentConfig):
    endpoint: str = Field("127.0.0.1:4317", description="host:port the OTLP/gRPC server listens on.")
    max_recv_msg_size_mib: PositiveInt = Field(
        4, description="Largest request accepted, in MiB, after decompression."
    )
    max_concurrent_streams: PositiveInt = Field(
        100, description="Calls one client connection may have in flight at once (HTTP/2 streams)."
    )
    tls: TLSServerConfig | None = Field(None, description="Serve TLS instead of plaintext.")
    auth: AuthConfig | None = Field(None, description="Require callers to authenticate (UNAUTHENTICATED if not).")


class CorsConfig(ComponentConfig):
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to send from a browser; '*' wildcards match, e.g. https://*.example.com.",
    )
    allowed_headers: list[str] = Field(
        default_factory=list,
        description="Request headers allowed besides Accept, Content-Type, Content-Encoding and X-Requested-With.",
    )
    max_age: int = Field(0, ge=0, description="Seconds a browser may cache a preflight answer; 0 leaves it unset.")


class HttpConfig(ComponentConfig):
    endpoint: str = Field("127.0.0.1:4318", description="host:port the OTLP/HTTP server listens on.")
    logs_url_path: str = Field("/v1/logs", description="URL path that takes logs.")
    metrics_url_path: str = Field("/v1/metrics", description="URL path that takes metrics.")
    traces_url_path: str = Field("/v1/traces", description="URL path that takes traces.")
    max_request_body_size: PositiveInt = Field(
        20 * 1024 * 1024,
        description="Largest request body in bytes, both as received and after decompression (413 beyond).",
    )
    tls: TLSServerConfig | None = Field(None, description="Serve HTTPS instead of HTTP.")
    auth: AuthConfig | None = Field(None, description="Require clients to authenticate (401 if not).")
    cors: CorsConfig | None = Field(None, description="Answer browsers' cross-origin requests.")

    @field_validator("logs_url_path", "metrics_url_path", "traces_url_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            value = "/" + value
        return value

    def path(self, signal: Signal) -> str:
        return getattr(self, f"{signal.value}_url_path")


class ProtocolsConfig(ComponentConfig):
    grpc: GrpcConfig | None = Field(None, description="Serve OTLP/gRPC.")
    http: HttpConfig | None = Field(None, description="Serve OTLP/HTTP (protobuf and JSON).")

    @model_validator(mode="before")
    @classmethod
    def _bare_key_enables(cls, data: Any) -> Any:
        # `grpc:` with no value turns the protocol on with its defaults, as in the Collector.
        if isinstance(data, dict):
            return {k: ({} if v is None else v) for k, v in data.items()}
        return data


class OtlpReceiverConfig(ComponentConfig):
    protocols: ProtocolsConfig = Field(
        default_factory=ProtocolsConfig, description="The transports to serve; at least one."
    )

    @model_validator(mode="after")
    def _one_protocol(self) -> "OtlpReceiverConfig":
        if self.protocols.grpc is None and self.protocols.http is None:
            raise ValueError("protocols: must enable at least one of 'grpc' and 'http'")
        return self
