"""The ``loadbalancing`` exporter: metric streams routed by a key over OTLP backends, by consistent hashing."""

from exporters.loadbalancing.config import LoadBalancingConfig
from exporters.loadbalancing.exporter import LoadBalancer, factory
from exporters.loadbalancing.ring import HashRing

__all__ = ["HashRing", "LoadBalancer", "LoadBalancingConfig", "factory"]
