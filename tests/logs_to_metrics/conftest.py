"""Every scanner test runs over both twins: ``py`` (orjson) and ``c`` (Cython)."""

import logging
import os

import pytest
import yaml

from collector.connectors.logs_to_metrics import scan_py
from collector.connectors.logs_to_metrics.config import Config

try:
    from _fastpath import _scan
except ImportError:
    _scan = None

TWINS = {"py": scan_py.Scanner, "c": _scan.JsonScanner if _scan else None}


@pytest.fixture(params=["py", "c"])
def scanner_class(request):
    cls = TWINS[request.param]
    if cls is None:
        if os.environ.get("FATHOM_REQUIRE_EXTENSIONS"):
            pytest.fail("the compiled scanner _fastpath._scan did not load")
        pytest.skip("compiled scanner not built")
    return cls


@pytest.fixture
def json_twin(scanner_class, monkeypatch):
    """Pipelines the test builds scan JSON and logfmt with this twin; the compiled one holds their series too."""
    import _fastpath

    monkeypatch.setattr(_fastpath, "JsonScanner", scanner_class)
    monkeypatch.setattr(_fastpath, "COMPILED", scanner_class is not scan_py.Scanner)
    return scanner_class


def config(text: str) -> Config:
    return Config.model_validate(yaml.safe_load(text))


class FakeTelemetry:
    def __init__(self):
        self.counts = {}

    def add(self, name, value, attributes=None, **_):
        key = (name, tuple(sorted((attributes or {}).items())))
        self.counts[key] = self.counts.get(key, 0) + value


class Sink:
    mutates_data = False

    def __init__(self):
        self.batches = []

    async def consume(self, batch):
        self.batches.append(batch)


def settings():
    from collector.component import ComponentID, Kind, Settings, Signal

    return Settings(ComponentID("logs_to_metrics"), Kind.CONNECTOR, logging.getLogger("test"), FakeTelemetry(),
                    frozenset({Signal.LOGS}))
