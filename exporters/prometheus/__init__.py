"""The ``prometheus`` exporter: a /metrics endpoint that Prometheus scrapes.

:mod:`exporters.prometheus.render` is the rendering mechanism shared with
the collector's own ``:8888/metrics``.
"""

from exporters.prometheus.exporter import PrometheusExporter, factory

__all__ = ["PrometheusExporter", "factory"]
