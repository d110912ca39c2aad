"""The ``loadbalancing`` exporter's config, keyed as the OpenTelemetry Collector's loadbalancingexporter."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from collector.component import ComponentConfig
from collector.configtypes import Duration
from exporters.loadbalancing.routing import RoutingKey
from exporters.otlp import OtlpExporterConfig

DEFAULT_PORT = 4317


class StaticResolver(ComponentConfig):
    hostnames: list[str] = Field(min_length=1, description="Backends as host or host:port (port 4317 if left out).")


class DnsResolver(ComponentConfig):
    hostname: str = Field(min_length=1, description="Name whose A/AAAA records are the backends "
                                                    "(a Kubernetes headless Service, say).")
    port: int = Field(DEFAULT_PORT, gt=0, le=65535, description="OTLP/gRPC port of every backend.")
    interval: Duration = Field(5.0, gt=0, description="How often the name is resolved again.")
    timeout: Duration = Field(1.0, gt=0, description="Time limit of one resolution.")


class ResolverConfig(ComponentConfig):
    static: StaticResolver | None = Field(None, description="A fixed list of backends.")
    dns: DnsResolver | None = Field(None, description="Backends from a DNS name, resolved periodically.")

    @model_validator(mode="after")
    def _exactly_one(self) -> "ResolverConfig":
        if (self.static is None) == (self.dns is None):
            raise ValueError("set exactly one of static and dns")
        return self


class ProtocolConfig(ComponentConfig):
    otlp: dict[str, Any] = Field(
        default_factory=dict,
        description="Settings of the `otlp` exporter used for every backend (tls, headers, compression, "
                    "timeout, sending_queue, retry_on_failure); the endpoint comes from the resolver.",
    )

    @field_validator("otlp")
    @classmethod
    def _an_otlp_config(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "endpoint" in value:
            raise ValueError("leave out endpoint: each backend's endpoint comes from the resolver")
        try:
            OtlpExporterConfig.model_validate({**value, "endpoint": f"backend:{DEFAULT_PORT}"})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"invalid otlp settings: {problems}") from None
        return value

    def for_endpoint(self, endpoint: str) -> OtlpExporterConfig:
        return OtlpExporterConfig.model_validate({**self.otlp, "endpoint": endpoint})


class LoadBalancingConfig(ComponentConfig):
    routing_key: RoutingKey = Field(
        "service", description="What keeps data together: `service` (service.name), `resource` (resource "
                               "attributes), `metric` (metric name) or `streamID` (one series)."
    )
    routing_attributes: list[str] = Field(
        default_factory=list, description="With routing_key `resource`: the resource attributes that form the "
                                          "key; empty uses them all."
    )
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig, description="How backends are sent to.")
    resolver: ResolverConfig = Field(description="Where the list of backends comes from.")
