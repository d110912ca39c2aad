"""The ``debug`` exporter: shows what reaches the end of a pipeline."""

from exporters.debug.exporter import DebugConfig, DebugExporter, factory

__all__ = ["DebugConfig", "DebugExporter", "factory"]
