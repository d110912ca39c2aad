"""Settings shared by the exporters that write to CloudWatch."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from collector.component import ComponentConfig
from collector.configtypes import Duration
from collector.exporterhelper import ExporterConfig
from exporters.aws import rules


class ResourceToTelemetryConfig(ComponentConfig):
    enabled: bool = Field(False, description="Copy resource attributes onto every point, as dimensions.")


class AwsMetricsExporterConfig(ExporterConfig):
    """Credentials and region come from botocore's standard chain; only overrides are here."""

    timeout: Duration = Field(
        30.0, description="Time limit of one send attempt: one batch may take several API calls."
    )
    region: str = Field("", description="AWS region; empty takes it from AWS_REGION or the shared config.")
    endpoint: str = Field("", description="Endpoint URL override, for VPC endpoints, FIPS endpoints and tests.")
    profile: str = Field("", description="Shared-config profile to use; empty uses AWS_PROFILE or the default.")
    namespace: str = Field(
        "", description="CloudWatch namespace; empty uses the resource's service.namespace/service.name, "
                        "else 'default'."
    )
    resource_to_telemetry_conversion: ResourceToTelemetryConfig = Field(
        default_factory=ResourceToTelemetryConfig, description="Resource attributes as dimensions."
    )
    retain_initial_value_of_delta_metric: bool = Field(
        True, description="Report the first point of a cumulative series as its delta instead of dropping it."
    )
    detailed_metrics: bool = Field(
        False, description="Also send each summary quantile as its own metric with a 'quantile' dimension."
    )
    histograms: Literal["values_counts", "statistic_set"] = Field(
        "values_counts", description="Histograms as Values/Counts distributions, or as Min/Max/Sum/Count."
    )
    storage_resolution: Literal[1, 60] = Field(
        60, description="60 for standard resolution, 1 for high-resolution (per-second) metrics."
    )

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"invalid endpoint {value!r}: expected a URL such as https://logs.eu-west-1.amazonaws.com")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        problem = value and rules.namespace_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def resolve_namespace(configured: str, resource: dict) -> str:
    """The configured namespace, else the resource's service, else 'default' (as the Collector does)."""
    if configured:
        return configured
    service = resource.get("service.name")
    if isinstance(service, str) and service:
        space = resource.get("service.namespace")
        return f"{space}/{service}" if isinstance(space, str) and space else service
    return "default"
