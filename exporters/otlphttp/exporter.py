"""The ``otlphttp`` exporter: OTLP/HTTP, protobuf or JSON, through aiohttp.

A batch that arrived as OTLP protobuf is posted as those bytes (compressed
if configured); JSON is built only when ``encoding: json`` asks for it.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Literal

import aiohttp

try:  # Python 3.14's zstd module, else its backport (the package aiohttp uses for zstd)
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    try:
        from backports import zstd  # type: ignore[no-redef]
    except ImportError:
        zstd = None  # type: ignore[assignment]
from google.protobuf.message import DecodeError, Message
from google.rpc.status_pb2 import Status
from pydantic import Field, field_validator, model_validator

from collector import __version__
from collector.auth import AuthConfig, ClientAuthenticator, client_authenticator
from collector.component import Factory, Host, Kind, Settings, Signal, Stability
from collector.exporterhelper import ExporterConfig, PushExporter, QueuedExporter
from collector.errors import PermanentError, RetryableError
from collector.pdata import Batch
from collector.pdata.otlp import WIRES, batch_bytes, batch_message, from_json, to_json
from collector.tls import TLSClientConfig
from exporters.otlp.common import count_partial_success, gzip_bytes, http_error

_MEDIA = {"proto": "application/x-protobuf", "json": "application/json"}
#: Bodies this large are compressed on a worker thread: cramjam, zlib and zstd release
#: the GIL, so the event loop keeps serving instead of stalling ~13 ms on a
#: 500 KB logs request, and a second core can take the work.
_OFF_LOOP_BYTES = 64 * 1024


class OtlpHttpExporterConfig(ExporterConfig):
    endpoint: str = Field("", description="Base URL; each signal goes to <endpoint>/v1/<signal>.")
    logs_endpoint: str = Field("", description="Full URL for logs, overriding endpoint.")
    metrics_endpoint: str = Field("", description="Full URL for metrics, overriding endpoint.")
    traces_endpoint: str = Field("", description="Full URL for traces, overriding endpoint.")
    tls: TLSClientConfig = Field(default_factory=TLSClientConfig, description="TLS for https:// URLs.")
    headers: dict[str, str] = Field(default_factory=dict, description="Headers sent with every request.")
    compression: Literal["gzip", "deflate", "zstd", "none"] = Field(
        "gzip", description="Request body compression; zstd needs Python 3.14 or the backports.zstd package."
    )
    compression_level: int = Field(
        1, ge=1, le=9,
        description="gzip, deflate or zstd level: 1 is several times cheaper than 6 and telemetry still shrinks ~10x.",
    )
    encoding: Literal["proto", "json"] = Field("proto", description="Body encoding: OTLP protobuf or OTLP/JSON.")
    auth: AuthConfig | None = Field(None, description="Authenticate every request with this auth extension.")

    @field_validator("endpoint", "logs_endpoint", "metrics_endpoint", "traces_endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"invalid URL {value!r}: expected http://host:port or https://host:port")
        return value

    @field_validator("compression")
    @classmethod
    def _codec_available(cls, value: str) -> str:
        if value == "zstd" and zstd is None:
            raise ValueError("compression zstd needs Python 3.14 or the backports.zstd package; use gzip")
        return value

    @model_validator(mode="after")
    def _some_endpoint(self) -> "OtlpHttpExporterConfig":
        if not self.endpoint and not (self.logs_endpoint or self.metrics_endpoint or self.traces_endpoint):
            raise ValueError("endpoint: set a base URL, or logs_endpoint, metrics_endpoint or traces_endpoint")
        return self

    def url(self, signal: Signal) -> str:
        """Where ``signal`` goes; raises ``ValueError`` when nothing says."""
        url = getattr(self, f"{signal.value}_endpoint") or (
            self.endpoint and self.endpoint.rstrip("/") + WIRES[signal].default_path
        )
        if not url:
            raise ValueError(f"{signal.value}_endpoint: no URL for {signal.value} and no base endpoint")
        return url


class OtlpHttpPusher(PushExporter):
    def __init__(self, settings: Settings, config: OtlpHttpExporterConfig) -> None:
        self._settings = settings
        self._config = config
        # Fail at create time, naming the key, for a signal this exporter serves but cannot address.
        self._urls = {signal: config.url(signal) for signal in settings.signals or Signal}
        self._media = _MEDIA[config.encoding]
        self._headers = {**config.headers, "Content-Type": self._media, "User-Agent": f"fathom/{__version__}"}
        if config.compression != "none":
            self._headers["Content-Encoding"] = config.compression
        self._session: aiohttp.ClientSession | None = None
        self._auth: ClientAuthenticator | None = None

    async def start(self, host: Host) -> None:
        if self._config.auth is not None:
            self._auth = client_authenticator(host, self._config.auth)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._config.tls.aiohttp_ssl(self._urls.values())),
            timeout=aiohttp.ClientTimeout(total=self._config.timeout or None),
            headers=self._headers, auto_decompress=True,
        )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _body(self, batch: Batch) -> bytes:
        body = batch_bytes(batch) if self._config.encoding == "proto" else to_json(batch_message(batch))
        if self._config.compression == "none":
            return body
        if len(body) < _OFF_LOOP_BYTES:
            return self._compress(body)
        return await asyncio.to_thread(self._compress, body)

    def _compress(self, body: bytes) -> bytes:
        if self._config.compression == "zstd":
            return zstd.compress(body, self._config.compression_level)
        if self._config.compression == "gzip":
            return gzip_bytes(body, self._config.compression_level)
        return zlib.compress(body, self._config.compression_level)  # deflate: the zlib format (RFC 1950)

    async def push(self, batch: Batch) -> None:
        if self._session is None:
            raise RetryableError("the otlphttp exporter is not started")
        wire = WIRES[batch.signal]
        url = self._urls.get(batch.signal)
        if url is None:
            raise PermanentError(f"this exporter is not configured for {batch.signal}")
        try:
            headers = self._auth.headers() if self._auth is not None else None
            async with self._session.post(url, data=await self._body(batch), headers=headers) as response:
                payload = await response.read()
                media = response.content_type
                if 200 <= response.status < 300:
                    reply = self._decode(wire.response, payload, media)
                    if reply is not None:
                        count_partial_success(self._settings, wire, reply)
                    return
                status = self._decode(Status, payload, media)
                raise http_error(response.status, response.reason or "", response.headers.get("Retry-After"),
                                 status.message if status is not None else payload[:200].decode("utf-8", "replace"))
        except aiohttp.ClientError as exc:
            # Refused connections and dropped responses: the spec says retry.
            raise RetryableError(f"POST {url}: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def _decode(message_type: type[Message], payload: bytes, media: str) -> Message | None:
        """A response body in either encoding; None when empty or unreadable (answers still count)."""
        if not payload:
            return None
        try:
            if media == _MEDIA["json"]:
                return from_json(message_type, payload)
            return message_type.FromString(payload)
        except (DecodeError, ValueError):
            return None


def create(settings: Settings, config: OtlpHttpExporterConfig) -> QueuedExporter:
    return QueuedExporter(settings, config, OtlpHttpPusher(settings, config))


factory = Factory(
    type="otlphttp",
    kind=Kind.EXPORTER,
    config=OtlpHttpExporterConfig,
    create=create,
    signals={Signal.LOGS: Stability.BETA, Signal.METRICS: Stability.BETA, Signal.TRACES: Stability.BETA},
    description="Sends logs, metrics and traces over OTLP/HTTP, protobuf or JSON.",
)
