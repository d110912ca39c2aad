"""Failed exports are retried as the OTLP specification says, and counted.

opentelemetry-proto docs/specification.md, "OTLP/HTTP Response": 429, 502,
503 and 504 are retryable and ``Retry-After`` is honoured; any other 4xx is
not retried. A reset connection, a cut-short response and a peer that never
answers are transport failures: retried. One collector serves every case;
each sends one batch of 10 records behind a proxy told to fail the next N
requests, then checks the attempts the proxy saw, the gap between them,
what arrived, and the collector's own ``otelcol_exporter_*`` counters.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterator

import pytest

from tests.conftest import Fathom
from tests.faults.harness import Collector, OtlpClient, arrived, wait_until
from tests.faults.proxy import Fault, HttpFaultProxy, LoopThread, Mode
from tests.otlp.backend import Backend

INITIAL_INTERVAL = 0.05  # the exporter's own backoff: far below any Retry-After under test
TIMEOUT = 0.5
RECORDS = 10


@dataclass
class Rig:
    loop: LoopThread
    backend: Backend
    proxy: HttpFaultProxy
    collector: Collector
    tags: Iterator[int]


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("retries")
    loop = LoopThread()
    backend = loop.run(Backend().start())
    proxy = loop.run(HttpFaultProxy(f"http://127.0.0.1:{backend.http_port}").start())
    processes: list[Fathom] = []

    def fathom(*args: str) -> Fathom:
        processes.append(Fathom(tmp, *args))
        return processes[-1]

    exporters = {"otlphttp": {
        "endpoint": proxy.url, "timeout": f"{TIMEOUT}s", "sending_queue": {"num_consumers": 1},
        "retry_on_failure": {"initial_interval": f"{INITIAL_INTERVAL}s", "randomization_factor": 0,
                             "max_interval": "100ms", "max_elapsed_time": "10s"},
    }}
    try:
        yield Rig(loop, backend, proxy, Collector(fathom, tmp, exporters=exporters), itertools.count())
    finally:
        for process in processes:
            process.close()
        loop.run(proxy.stop())
        loop.run(backend.stop())
        loop.close()


@dataclass(frozen=True)
class Case:
    mode: Mode
    retried: bool
    copies: int = 1  # how many times the batch reaches the backend
    min_gap: float = 0.0  # seconds the collector must wait before its first retry


def status(code: int, times: int = 1, **headers: str) -> Mode:
    return Mode(Fault.STATUS, status=code, headers=headers, times=times)


CASES = {
    "503 twice": Case(status(503, times=2), retried=True),
    "502": Case(status(502), retried=True),
    "504": Case(status(504), retried=True),
    "429 without Retry-After": Case(status(429), retried=True),
    "429 Retry-After 1": Case(status(429, **{"Retry-After": "1"}), retried=True, min_gap=1.0),
    "503 Retry-After 1": Case(status(503, **{"Retry-After": "1"}), retried=True, min_gap=1.0),
    "400": Case(status(400), retried=False, copies=0),
    "401": Case(status(401), retried=False, copies=0),
    "403": Case(status(403), retried=False, copies=0),
    "404": Case(status(404), retried=False, copies=0),
    "413": Case(status(413), retried=False, copies=0),
    "500": Case(status(500), retried=False, copies=0),
    "connection reset twice": Case(Mode(Fault.RESET, times=2), retried=True),
    # The backend got the first request; only its answer was lost, so a retry duplicates: at least once.
    "truncated response": Case(Mode(Fault.TRUNCATE, times=1), retried=True, copies=2),
    "no answer (timeout)": Case(Mode(Fault.HANG, times=1), retried=True, min_gap=TIMEOUT),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_retried_as_the_spec_says(rig: Rig, case: Case):
    c, proxy = rig.collector, rig.proxy
    sent_before = c.metric("otelcol_exporter_sent_log_records_total")
    failed_before = c.metric("otelcol_exporter_send_failed_log_records_total")
    faults = (case.mode.times or 1)
    attempts = faults + 1 if case.retried else 1
    first = proxy.control.count()
    proxy.control.set(case.mode)
    tag = f"case{next(rig.tags)}:"
    tally = rig.loop.run(OtlpClient(c.otlp_port, tag.rstrip(":"), batch=RECORDS).send(1))
    assert len(tally.accepted) == RECORDS  # the receiver took it; the failure is the exporter's to handle

    def settled() -> bool:
        done = c.metric("otelcol_exporter_sent_log_records_total") + c.metric(
            "otelcol_exporter_send_failed_log_records_total")
        return done - sent_before - failed_before >= RECORDS and proxy.control.count() - first >= attempts

    assert wait_until(settled, timeout=10)
    assert wait_until(lambda: sum(arrived(rig.backend, tag).values()) >= case.copies * RECORDS, timeout=2)
    seen = proxy.control.attempts[first:]
    assert len(seen) == attempts, seen
    got = arrived(rig.backend, tag)
    assert len(got) == (RECORDS if case.copies else 0) and sum(got.values()) == case.copies * RECORDS
    sent = c.metric("otelcol_exporter_sent_log_records_total") - sent_before
    failed = c.metric("otelcol_exporter_send_failed_log_records_total") - failed_before
    assert (sent, failed) == ((RECORDS, 0) if case.retried else (0, RECORDS))
    print(f"\n{case.mode.fault.value} {case.mode.status if case.mode.fault is Fault.STATUS else ''}: "
          f"sent {RECORDS}, accepted {len(tally.accepted)}, attempts {len(seen)}, arrived {len(got)} "
          f"(duplicates {sum(got.values()) - len(got)}), exporter sent {sent:g} failed {failed:g}, "
          f"gaps {[round(b.at - a.at, 3) for a, b in zip(seen, seen[1:])]}")
    if case.retried:
        gap = seen[1].at - seen[0].at
        assert gap >= max(case.min_gap, INITIAL_INTERVAL) - 0.02, gap
        assert gap < max(case.min_gap, INITIAL_INTERVAL) + 0.5, gap  # honoured, not ignored in favour of a longer wait
