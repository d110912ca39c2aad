"""The ``otlphttp`` exporter."""

from exporters.otlphttp.exporter import OtlpHttpExporterConfig, OtlpHttpPusher, factory

__all__ = ["OtlpHttpExporterConfig", "OtlpHttpPusher", "factory"]
