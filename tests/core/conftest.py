from __future__ import annotations

import pytest

from collector.config import load_config_text
from collector.registry import Registry
from collector.resolve import ResolvedConfig, resolve
from tests.core.components import EVENTS, FACTORIES, Recorder, Source


@pytest.fixture
def registry() -> Registry:
    registry = Registry.discover()
    for factory in FACTORIES:
        registry.register(factory)
    return registry


@pytest.fixture(autouse=True)
def _clean() -> None:
    EVENTS.clear()
    Source.instances.clear()
    Recorder.instances.clear()


@pytest.fixture
def resolve_text(registry):
    def _resolve(text: str, name: str = "config.yaml") -> ResolvedConfig:
        return resolve(load_config_text(text, name, env={}), registry)

    return _resolve
