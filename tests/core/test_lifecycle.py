"""The same lifecycle test for every registered factory, built-in or plugin.

Create, start, consume a batch of each supported signal, shut down; and
shutdown before start, and twice, is safe. A new component gets this test by
registering: it only needs a minimal config below if its defaults cannot run
in a test (a port, a required field).
"""

from __future__ import annotations

import logging
import tempfile

import pytest

from collector.component import ComponentID, Kind, Settings, Signal
from collector.pdata import Logs, Metrics, Traces
from collector.registry import Registry
from collector.telemetry import Telemetry
from tests.core.components import logs

MINIMAL = {
    (Kind.RECEIVER, "otlp"): {"protocols": {"grpc": {"endpoint": "127.0.0.1:0"}, "http": {"endpoint": "127.0.0.1:0"}}},
    (Kind.RECEIVER, "testgen"): {"total": 1},
    (Kind.RECEIVER, "filelog"): {"include": ["/nonexistent/*.log"]},
    (Kind.RECEIVER, "tcplog"): {"listen_address": "127.0.0.1:0"},
    (Kind.RECEIVER, "udplog"): {"listen_address": "127.0.0.1:0"},
    (Kind.RECEIVER, "emf"): {"tcp_endpoint": "127.0.0.1:0", "udp_endpoint": "127.0.0.1:0"},
    (Kind.EXPORTER, "prometheus"): {"endpoint": "127.0.0.1:0"},
    (Kind.EXPORTER, "otlp"): {"endpoint": "127.0.0.1:9", "tls": {"insecure": True},
                              "retry_on_failure": {"enabled": False}, "timeout": "100ms"},
    (Kind.EXPORTER, "otlphttp"): {"endpoint": "http://127.0.0.1:9", "retry_on_failure": {"enabled": False},
                                  "timeout": "100ms"},
    (Kind.EXPORTER, "prometheusremotewrite"): {"endpoint": "http://127.0.0.1:9/api/v1/write",
                                               "retry_on_failure": {"enabled": False}, "timeout": "100ms"},
    (Kind.EXPORTER, "testfile"): {"path": "/dev/null"},
    (Kind.PROCESSOR, "memory_limiter"): {"limit_mib": 100000},
    (Kind.CONNECTOR, "logs_to_metrics"): {"metrics": [{"name": "lines", "type": "counter"}]},
    (Kind.EXTENSION, "health_check"): {"endpoint": "127.0.0.1:0"},
    (Kind.EXTENSION, "file_storage"): {"directory": tempfile.mkdtemp(prefix="fathom-lifecycle-")},
    (Kind.EXTENSION, "status"): {"endpoint": "127.0.0.1:0"},
    (Kind.EXTENSION, "bearertokenauth"): {"token": "lifecycle-token"},
    (Kind.EXTENSION, "basicauth"): {"client_auth": {"username": "u", "password": "p"}},
    (Kind.EXPORTER, "loadbalancing"): {"resolver": {"static": {"hostnames": ["127.0.0.1:9"]}},
                                       "protocol": {"otlp": {"tls": {"insecure": True}, "timeout": "100ms"}}},
}

REGISTRY = Registry.discover()
FACTORIES = [(kind, type_) for kind in Kind for type_ in REGISTRY.types(kind)]


def sample(signal: Signal):
    return {Signal.LOGS: logs(2), Signal.METRICS: Metrics([]), Signal.TRACES: Traces()}[signal]


class Sink:
    mutates_data = False

    def __init__(self) -> None:
        self.batches: list = []

    async def consume(self, batch) -> None:
        self.batches.append(batch)


def host():
    """A real, unstarted service as the host, for components that look at the collector itself."""
    from collector.config import load_config_text
    from collector.resolve import resolve
    from collector.service import Service

    config = load_config_text(
        "receivers: {otlp: {protocols: {http: {endpoint: '127.0.0.1:0'}}}}\n"
        "exporters: {debug: {}}\n"
        "service: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n", "host.yaml", {})
    return Service(resolve(config, REGISTRY))


def create(kind: Kind, type_: str):
    factory = REGISTRY.get(kind, type_)
    assert factory is not None
    config = factory.config.model_validate(MINIMAL.get((kind, type_), {}))
    id = ComponentID(type_)
    if kind is Kind.CONNECTOR:
        sources = {a for a, _ in factory.signals}
        targets = {b for _, b in factory.signals}
        settings = Settings(id, kind, logging.getLogger("test"), Telemetry().for_component(id, kind), frozenset(sources))
        return factory.create(settings, config, {s: Sink() for s in targets}), sources
    signals = frozenset(factory.signals) if kind is not Kind.EXTENSION else frozenset()
    if kind is Kind.PROCESSOR:
        signals = frozenset({next(iter(signals))})
    settings = Settings(id, kind, logging.getLogger("test"), Telemetry().for_component(id, kind), signals, "p")
    if kind is Kind.RECEIVER:
        return factory.create(settings, config, {s: Sink() for s in signals}), set()
    if kind is Kind.PROCESSOR:
        return factory.create(settings, config, Sink()), signals
    return factory.create(settings, config), signals if kind is Kind.EXPORTER else set()


@pytest.mark.parametrize("kind, type_", FACTORIES, ids=[f"{k}-{t}" for k, t in FACTORIES])
async def test_lifecycle(kind, type_):
    component, consumes = create(kind, type_)
    await component.start(host())
    for signal in consumes:
        try:
            await component.consume(sample(signal))
        except Exception as exc:  # an exporter with no peer may refuse; it must say so with a typed error
            from collector.errors import ConsumeError

            assert isinstance(exc, ConsumeError), exc
    await component.shutdown()
    await component.shutdown()


@pytest.mark.parametrize("kind, type_", FACTORIES, ids=[f"{k}-{t}" for k, t in FACTORIES])
async def test_shutdown_before_start_is_safe(kind, type_):
    component, _ = create(kind, type_)
    await component.shutdown()


def test_every_built_in_is_covered():
    built_in = {("receiver", "otlp"), ("exporter", "debug"), ("exporter", "prometheus"), ("processor", "batch"),
                ("connector", "logs_to_metrics"), ("extension", "health_check")}
    assert built_in <= {(str(k), t) for k, t in FACTORIES}
