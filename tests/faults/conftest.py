"""Fixtures of the fault suite: a background loop, servers on it, and a test backend."""

from __future__ import annotations

from typing import Any, Callable, Iterator, TypeVar

import pytest

from tests.faults.proxy import LoopThread
from tests.otlp.backend import Backend

S = TypeVar("S")


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def serve(loop: LoopThread) -> Iterator[Callable[[Any], Any]]:
    """Start a server (anything with async start/stop) on the loop; stopped after the test."""
    started: list[Any] = []

    def start(server: S) -> S:
        loop.run(server.start())  # type: ignore[attr-defined]
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        loop.run(server.stop())


@pytest.fixture
def backend(serve: Callable[[Backend], Backend]) -> Backend:
    return serve(Backend())
