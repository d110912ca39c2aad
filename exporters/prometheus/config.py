"""The ``prometheus`` exporter's config, key for key as the OpenTelemetry Collector reads it."""

from __future__ import annotations

import re

from collector.httpserver import parse_endpoint
from collector.tls import TLSServerConfig
from pydantic import Field, field_validator

from collector.component import ComponentConfig
from collector.configtypes import Duration
from exporters.prometheus.naming import TranslationStrategy
from exporters.prometheus.translate import RenderOptions

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class ResourceToTelemetryConfig(ComponentConfig):
    enabled: bool = Field(False, description="Copy every resource attribute onto every series as a label.")


def check_label_names(labels: dict[str, str]) -> dict[str, str]:
    for name in labels:
        if not _LABEL_NAME.match(name) or name.startswith("__"):
            raise ValueError(f"invalid label name {name!r}: expected letters, digits and '_', "
                             "not starting with a digit or '__'")
    return labels


class PrometheusConfig(ComponentConfig):
    endpoint: str = Field("127.0.0.1:9464", description="host:port the /metrics endpoint listens on.")
    tls: TLSServerConfig | None = Field(None, description="Serve HTTPS (and require client certificates if set).")
    namespace: str = Field("", description="Prefix of every metric name.")
    const_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels added to every series that does not already have them."
    )
    send_timestamps: bool = Field(False, description="Write each sample's timestamp in the scrape output.")
    metric_expiration: Duration = Field(
        300.0, gt=0, description="Forget a series not updated for this long, whether or not anyone scrapes."
    )
    resource_to_telemetry_conversion: ResourceToTelemetryConfig = Field(
        default_factory=ResourceToTelemetryConfig, description="Resource attributes as labels."
    )
    translation_strategy: TranslationStrategy = Field(
        TranslationStrategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES,
        description="How names are translated: UnderscoreEscapingWithSuffixes or UnderscoreEscapingWithoutSuffixes.",
    )
    enable_open_metrics: bool = Field(
        False, description="Serve OpenMetrics 1.0 (exemplars, _created) to scrapers that ask for it."
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        parse_endpoint(value)
        return value

    @field_validator("const_labels")
    @classmethod
    def _const_labels(cls, value: dict[str, str]) -> dict[str, str]:
        return check_label_names(value)

    def render_options(self) -> RenderOptions:
        return RenderOptions(
            namespace=self.namespace,
            const_labels=self.const_labels,
            send_timestamps=self.send_timestamps,
            resource_to_telemetry_conversion=self.resource_to_telemetry_conversion.enabled,
            translation_strategy=self.translation_strategy,
        )
