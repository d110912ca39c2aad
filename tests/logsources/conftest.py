"""Shared pieces for the log-source tests: a recording consumer that can refuse, counted telemetry."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

import pytest

from collector.component import ComponentID, Kind, Settings, Signal
from collector.errors import RefusedError


class Telemetry:
    """Counts what a component reports, by name and attributes."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, tuple], int] = {}

    def add(self, name: str, value: int, attributes: Any = None, **_: Any) -> None:
        key = (name, tuple(sorted((attributes or {}).items())))
        self.counts[key] = self.counts.get(key, 0) + value

    def add_items(self, stem: str, signal: Signal, value: int, attributes: Any = None) -> None:
        self.add(f"{stem}_log_records", value, attributes)

    def bad(self, reason: str) -> int:
        return self.counts.get(("fathom_receiver_bad_input", (("reason", reason),)), 0)

    def get(self, name: str) -> int:
        return self.counts.get((name, ()), 0)


class Sink:
    """Records every batch; refuses the next ``refuse`` offers with RefusedError."""

    mutates_data = False

    def __init__(self) -> None:
        self.batches: list = []
        self.refuse = 0
        self.offers = 0

    async def consume(self, batch: Any) -> None:
        self.offers += 1
        if self.refuse:
            self.refuse -= 1
            raise RefusedError("memory limit", retry_after=0.005)
        self.batches.append(batch)

    def chunks(self) -> list:
        return [c for b in self.batches for c in b.chunks]

    def lines(self) -> list[bytes]:
        return [line for c in self.chunks() for line in c.lines()]

    async def wait_for(self, predicate: Callable[["Sink"], bool], timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {len(self.lines())} lines")
            await asyncio.sleep(0.005)

    async def wait_lines(self, n: int, timeout: float = 3.0) -> list[bytes]:
        await self.wait_for(lambda s: len(s.lines()) >= n, timeout)
        return self.lines()


def make_settings(type_: str) -> tuple[Settings, Telemetry]:
    telemetry = Telemetry()
    settings = Settings(ComponentID(type_), Kind.RECEIVER, logging.getLogger(f"test.{type_}"), telemetry,  # type: ignore[arg-type]
                        frozenset({Signal.LOGS}))
    return settings, telemetry


@pytest.fixture
def sink() -> Sink:
    return Sink()


class Host:
    def get_extension(self, id: Any) -> None:
        return None


@pytest.fixture
def host() -> Host:
    return Host()
