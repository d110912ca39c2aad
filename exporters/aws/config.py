"""Settings shared by the exporters that write to CloudWatch."""

from __future__ import annotations

from collections import Counter
from typing import Iterator, Literal, Mapping

from pydantic import Field, field_validator

from collector import emf
from collector.component import ComponentConfig
from collector.configtypes import Duration
from collector.exporterhelper import ExporterConfig
from exporters.aws.datums import Datum, ResourceDatums


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
                        "else 'default'. A point with an aws.emf.namespace attribute (from parser emf) keeps its own."
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
        60, description="60 for standard resolution, 1 for high-resolution (per-second) metrics; a metric with "
                        "aws.emf.storage_resolution metadata (from parser emf) keeps its own."
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
        problem = value and emf.namespace_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def routed(group: ResourceDatums, configured: str, dropped: Counter[str]) -> Iterator[tuple[str, Datum]]:
    """Each datum of ``group`` with the namespace it goes to: its own (an EMF source's), else
    :func:`resolve_namespace`'s. Datums whose namespace CloudWatch would refuse are counted in ``dropped``."""
    fallback = resolve_namespace(configured, group.resource)
    valid: dict[str, bool] = {}
    for datum in group.datums:
        namespace = datum.namespace or fallback
        ok = valid.get(namespace)
        if ok is None:
            ok = valid[namespace] = emf.namespace_problem(namespace) is None
        if ok:
            yield namespace, datum
        else:
            dropped["invalid_namespace"] += 1


def resolve_namespace(configured: str, resource: Mapping) -> str:
    """The configured namespace, else the resource's service, else 'default' (as the Collector does)."""
    if configured:
        return configured
    service = resource.get("service.name")
    if isinstance(service, str) and service:
        space = resource.get("service.namespace")
        return f"{space}/{service}" if isinstance(space, str) and space else service
    return "default"
