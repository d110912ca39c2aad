"""The ``prometheusremotewrite`` exporter: pushes metrics by Prometheus remote write 1.0."""

from exporters.prometheusremotewrite.exporter import RemoteWriteExporter, factory

__all__ = ["RemoteWriteExporter", "factory"]
