"""Shared pieces of the OTLP tests: component settings, a recording consumer, counters."""

from __future__ import annotations

import logging
from typing import Any, Callable

import pytest

from collector.component import ComponentID, Kind, Settings, Signal
from collector.errors import ConsumeError
from collector.telemetry import Telemetry


class Recorder:
    """A consumer that keeps what it gets, or raises ``error`` when set."""

    mutates_data = False

    def __init__(self) -> None:
        self.batches: list[Any] = []
        self.error: ConsumeError | None = None

    async def consume(self, batch: Any) -> None:
        if self.error is not None:
            raise self.error
        self.batches.append(batch)


@pytest.fixture
def telemetry() -> Telemetry:
    t = Telemetry("test")
    yield t
    t.shutdown()


@pytest.fixture
def make_settings(telemetry: Telemetry) -> Callable[..., Settings]:
    def make(id: str, kind: Kind, signals: frozenset[Signal] = frozenset(Signal)) -> Settings:
        cid = ComponentID.parse(id)
        return Settings(cid, kind, logging.getLogger(f"test.{cid}"), telemetry.for_component(cid, kind), signals)

    return make


def counter(telemetry: Telemetry, name: str, **attributes: Any) -> float:
    """Sum of counter ``name`` over points whose attributes include ``attributes``."""
    total = 0.0
    for _, _, metric in telemetry.collect().iter_metrics():
        if metric.name == name:
            for point in metric.points:
                if attributes.items() <= dict(point.attributes).items():
                    total += point.value
    return total
