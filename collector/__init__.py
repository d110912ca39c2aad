"""fathom: a telemetry collector that turns structured logs into metrics."""

__version__ = "0.1.0"
