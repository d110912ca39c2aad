"""The ``otlp`` (gRPC) exporter."""

from exporters.otlp.exporter import OtlpExporterConfig, OtlpGrpcPusher, factory

__all__ = ["OtlpExporterConfig", "OtlpGrpcPusher", "factory"]
