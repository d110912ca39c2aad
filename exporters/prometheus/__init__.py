"""The ``prometheus`` exporter: a /metrics endpoint that Prometheus scrapes."""
