"""The ``prometheusremotewrite`` exporter: remote write 1.0 to Prometheus-compatible stores.

Deltas are folded into cumulative series by the same :class:`CumulativeStore`
as the pull exporter *before* a batch is queued, so a retried request never
adds a delta twice; the queue, retries and self-metrics come from the core
:class:`QueuedExporter`. Each request is a snappy-compressed protobuf
``WriteRequest`` of at most ``max_batch_size_bytes`` (before compression).
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import aiohttp
import cramjam
from pydantic import Field, field_validator

from collector import __version__
from collector.auth import AuthConfig, ClientAuthenticator, client_authenticator
from collector.component import ComponentConfig, Factory, Host, Kind, Settings, Signal, Stability
from collector.errors import PermanentError, RetryableError, ThrottledError
from collector.exporterhelper import ExporterConfig, PushExporter, QueuedExporter
from collector.configtypes import Duration
from collector.pdata import Batch
from collector.pdata.metrics import Metrics
from collector.tls import TLSClientConfig
from exporters.prometheus.config import ResourceToTelemetryConfig, check_label_names
from exporters.prometheus.cumulative import CumulativeStore, expiry
from exporters.prometheus.naming import TranslationStrategy
from exporters.prometheus.translate import RenderOptions
from exporters.prometheusremotewrite.series import encoded_series

USER_AGENT = f"fathom/{__version__}"
HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": USER_AGENT,
}


class TargetInfoConfig(ComponentConfig):
    enabled: bool = Field(True, description="Send a target_info series per resource.")


class RemoteWriteConfig(ExporterConfig):
    endpoint: str = Field(..., description="URL of the remote-write receiver, such as http://host:9090/api/v1/write.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers sent with every request.")
    tls: TLSClientConfig = Field(default_factory=TLSClientConfig, description="TLS for an https:// endpoint.")
    auth: AuthConfig | None = Field(None, description="Authenticate every request with this auth extension.")
    external_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels added to every series that does not already have them."
    )
    namespace: str = Field("", description="Prefix of every metric name.")
    resource_to_telemetry_conversion: ResourceToTelemetryConfig = Field(
        default_factory=ResourceToTelemetryConfig, description="Resource attributes as labels."
    )
    target_info: TargetInfoConfig = Field(default_factory=TargetInfoConfig, description="The target_info series.")
    translation_strategy: TranslationStrategy = Field(
        TranslationStrategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES, description="How names are translated."
    )
    max_batch_size_bytes: int = Field(3_000_000, gt=0, description="Upper bound of one request's uncompressed size.")
    metric_expiration: Duration = Field(
        300.0, gt=0, description="Forget the cumulative state of a delta series not updated for this long."
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"invalid endpoint {value!r}: expected an http:// or https:// URL")
        return value

    @field_validator("external_labels")
    @classmethod
    def _external_labels(cls, value: dict[str, str]) -> dict[str, str]:
        return check_label_names(value)

    def render_options(self) -> RenderOptions:
        return RenderOptions(
            namespace=self.namespace,
            const_labels=self.external_labels,
            resource_to_telemetry_conversion=self.resource_to_telemetry_conversion.enabled,
            translation_strategy=self.translation_strategy,
        )


def requests(batch: Metrics, config: RemoteWriteConfig) -> list[bytes]:
    """Uncompressed ``WriteRequest`` bodies, each within ``max_batch_size_bytes``
    (a single larger series goes alone rather than being lost)."""
    out: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for series in encoded_series(batch, config.render_options(), config.target_info.enabled):
        if current and size + len(series) > config.max_batch_size_bytes:
            out.append(b"".join(current))
            current, size = [], 0
        current.append(series)
        size += len(series)
    if current:
        out.append(b"".join(current))
    return out


class RemoteWritePusher(PushExporter):
    """Sends one batch: every request in order; a failure raises a typed error."""

    def __init__(self, config: RemoteWriteConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._auth: ClientAuthenticator | None = None

    async def start(self, host: Host) -> None:
        if self.config.auth is not None:
            self._auth = client_authenticator(host, self.config.auth)
        self._session = aiohttp.ClientSession(
            headers={**self.config.headers, **HEADERS},
            connector=aiohttp.TCPConnector(ssl=self.config.tls.aiohttp_ssl([self.config.endpoint])),
        )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def push(self, batch: Batch) -> None:
        assert isinstance(batch, Metrics)
        if self._session is None:
            raise RetryableError("remote write session is not open")
        for body in requests(batch, self.config):
            await self._post(self._session, bytes(cramjam.snappy.compress_raw(body)))

    async def _post(self, session: aiohttp.ClientSession, payload: bytes) -> None:
        try:
            headers = self._auth.headers() if self._auth is not None else None
            async with session.post(self.config.endpoint, data=payload, headers=headers) as response:
                if response.status < 300:
                    return
                detail = (await response.text(errors="replace"))[:256].strip()
                message = f"remote write to {self.config.endpoint} answered {response.status}: {detail}"
                retry_after = _retry_after(response.headers.get("Retry-After"))
                if response.status == 429:
                    raise ThrottledError(message, retry_after)
                if response.status >= 500:
                    raise RetryableError(message, retry_after)
                raise PermanentError(message)
        except aiohttp.ClientError as exc:
            raise RetryableError(f"remote write to {self.config.endpoint} failed: {exc}") from exc


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class RemoteWriteExporter:
    """Accumulates deltas, then hands the cumulative batch to the queued sender."""

    mutates_data = False
    #: the sender counts what it sends; the graph must not count the input again
    counts_itself = True

    def __init__(self, settings: Settings, config: RemoteWriteConfig) -> None:
        self.settings = settings
        self.config = config
        self.store = CumulativeStore()
        self.sender = QueuedExporter(settings, config, RemoteWritePusher(config))
        self._expiry = expiry(self.store, config.metric_expiration, name=f"{settings.id} expiry",
                              logger=settings.logger)
        self._stopped = False

    async def start(self, host: Host) -> None:
        if self._expiry.running or self._stopped:
            return
        await self.sender.start(host)
        self._expiry.start()

    async def consume(self, batch: Batch) -> None:
        """Fold the batch into the store (it is only read) and queue what it changed."""
        assert isinstance(batch, Metrics)
        result = self.store.add(batch, time.monotonic(), changed=True)
        if result.dropped:
            # Exponential histograms, non-monotonic deltas and out-of-order points.
            self.settings.telemetry.add_items("otelcol_exporter_send_failed", Signal.METRICS, result.dropped)
        if result.changed is not None and result.changed.resource_metrics:
            await self.sender.consume(result.changed)

    async def shutdown(self) -> None:
        self._stopped = True
        await self._expiry.stop()
        await self.sender.shutdown()

    async def hand_over(self) -> tuple[CumulativeStore, list[Batch]]:
        """The series (so counters keep their start times) and the queued requests."""
        self._stopped = True
        await self._expiry.stop()
        return self.store, await self.sender.hand_over()

    def take_over(self, state: tuple[CumulativeStore, list[Batch]]) -> None:
        self.store, queued = state
        self._expiry = expiry(self.store, self.config.metric_expiration, name=f"{self.settings.id} expiry",
                              logger=self.settings.logger)
        self.sender.take_over(queued)


def create(settings: Settings, config: RemoteWriteConfig) -> RemoteWriteExporter:
    return RemoteWriteExporter(settings, config)


factory = Factory(
    type="prometheusremotewrite",
    kind=Kind.EXPORTER,
    config=RemoteWriteConfig,
    create=create,
    signals={Signal.METRICS: Stability.BETA},
    description="Pushes metrics to a Prometheus remote-write 1.0 endpoint.",
)
