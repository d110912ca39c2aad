"""What every fault case shares: a real collector with its self-metrics, an OTLP/HTTP
client that counts what it sent and what was accepted, and a count of what arrived.

Every log record carries a unique body ``<tag>:<seq>``, so arrivals are counted
exactly and duplicates are visible.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import aiohttp
import yaml
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.component import Signal
from exporters.otlp.common import parse_retry_after
from tests.cli.test_cli import get, wait_ready
from tests.conftest import free_port
from tests.otlp.backend import Backend

RETRYABLE = frozenset({429, 502, 503, 504})


def logs_request(tag: str, seqs: range, pad: int = 0) -> bytes:
    """Records with bodies ``<tag>:<seq>``; ``pad`` bytes of attribute make them bigger."""
    request = ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    for seq in seqs:
        record = records.add()
        record.body.string_value = f"{tag}:{seq}"
        if pad:
            attribute = record.attributes.add()
            attribute.key, attribute.value.string_value = "pad", "x" * pad
    return request.SerializeToString()


def arrived(backend: Backend, tag: str = "") -> Counter[str]:
    """How many times each record reached the backend."""
    got: Counter[str] = Counter()
    for message in list(backend.received[Signal.LOGS]):
        for rl in message.resource_logs:
            for sl in rl.scope_logs:
                got.update(r.body.string_value for r in sl.log_records if r.body.string_value.startswith(tag))
    return got


def wait_until(predicate: Callable[[], bool], timeout: float = 15, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@dataclass
class Tally:
    """The client's side of the count, in records."""

    sent: int = 0  # first attempts only
    accepted: set[str] = field(default_factory=set)  # answered 2xx
    refused: int = 0  # retryable answers (429/503...), per attempt
    rejected: int = 0  # other answers: given up
    statuses: Counter[int] = field(default_factory=Counter)
    retry_after: list[float] = field(default_factory=list)


class OtlpClient:
    """Posts numbered log batches to an OTLP/HTTP receiver, as a well-behaved SDK would.

    A refused batch is sent again after the receiver's ``Retry-After`` (capped
    by ``max_backoff`` to keep tests short) when ``retry`` is on.
    """

    def __init__(self, port: int, tag: str, *, batch: int = 10, pad: int = 0, retry: bool = False,
                 max_backoff: float = 0.2) -> None:
        self.url = f"http://127.0.0.1:{port}/v1/logs"
        self.tag = tag
        self.batch = batch
        self.pad = pad
        self.retry = retry
        self.max_backoff = max_backoff
        self.tally = Tally()
        self._next = 0

    async def _post(self, session: aiohttp.ClientSession, seqs: range, until: Callable[[], bool] | None) -> None:
        body = logs_request(self.tag, seqs, self.pad)
        self.tally.sent += len(seqs)
        while True:
            try:
                async with session.post(self.url, data=body,
                                        headers={"Content-Type": "application/x-protobuf"}) as answer:
                    await answer.read()
                    status, after = answer.status, parse_retry_after(answer.headers.get("Retry-After"))
            except aiohttp.ClientError:
                status, after = 503, None
            self.tally.statuses[status] += 1
            if 200 <= status < 300:
                self.tally.accepted.update(f"{self.tag}:{s}" for s in seqs)
                return
            if status not in RETRYABLE:
                self.tally.rejected += len(seqs)
                return
            self.tally.refused += len(seqs)
            if after is not None:
                self.tally.retry_after.append(after)
            if not self.retry or (until and until()):
                return
            await asyncio.sleep(min(after or self.max_backoff, self.max_backoff))

    async def send(self, batches: int, *, interval: float = 0.0, concurrency: int = 1,
                   until: Callable[[], bool] | None = None) -> Tally:
        """Send ``batches`` batches (or until ``until()`` says stop), ``concurrency`` at a time.

        With an ``interval`` each worker paces itself: the offered rate is
        ``concurrency * batch / interval`` records a second.
        """
        async with aiohttp.ClientSession() as session:
            async def worker() -> None:
                while self._next < batches * self.batch and not (until and until()):
                    seqs = range(self._next, self._next + self.batch)
                    self._next += self.batch
                    started = time.monotonic()
                    await self._post(session, seqs, until)
                    if interval:
                        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return self.tally


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """A Prometheus text page as {(name, labels): value}."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in get(f"http://127.0.0.1:{port}/metrics")[1].splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        name, _, rest = series.partition("{")
        # Label values here never hold commas or quotes: component ids and scope names.
        pairs = (kv.split("=", 1) for kv in rest.rstrip("}").split(",") if kv)
        out[(name, frozenset((k, v.strip('"')) for k, v in pairs))] = float(value)
    return out


class Collector:
    """A started ``fathom run``: an OTLP/HTTP receiver, health check and self-metrics on free ports."""

    def __init__(self, fathom: Any, tmp: Path, *, exporters: dict[str, Any], processors: dict[str, Any] | None = None,
                 extensions: dict[str, Any] | None = None, shutdown_timeout: float = 2.0,
                 name: str = "collector") -> None:
        self.otlp_port, health, self.metrics_port = free_port(), free_port(), free_port()
        extensions = {**(extensions or {}), "health_check": {"endpoint": f"127.0.0.1:{health}"}}
        config = {
            "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{self.otlp_port}"}}}},
            "processors": processors or {},
            "exporters": exporters,
            "extensions": extensions,
            "service": {
                "extensions": list(extensions),
                "shutdown_timeout": shutdown_timeout,
                "telemetry": {"metrics": {"address": f"127.0.0.1:{self.metrics_port}"}},
                "pipelines": {"logs": {"receivers": ["otlp"], "processors": list(processors or {}),
                                       "exporters": list(exporters)}},
            },
        }
        if not config["processors"]:
            del config["processors"]
        path = tmp / f"{name}-{time.monotonic_ns()}.yaml"
        path.write_text(yaml.safe_dump(config))
        self.process = fathom("run", "--config", str(path))
        try:
            wait_ready(health)
        except AssertionError:
            raise AssertionError(f"fathom did not become ready:\n{self.process.stderr}") from None

    @property
    def pid(self) -> int:
        return self.process.proc.pid

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the series ``name`` whose labels include ``labels``."""
        want = set(labels.items())
        return sum(v for (n, ls), v in scrape(self.metrics_port).items() if n == name and want <= ls)

    def rss_bytes(self) -> int:
        """VmRSS of the collector process, from /proc/<pid>/status."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for pid {self.pid}")

    def stop(self, timeout: float = 30) -> int:
        self.process.signal(15)
        return self.process.wait(timeout)
