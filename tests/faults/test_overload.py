"""Overload: a flood into a collector whose backend is slow. ``memory_limiter`` keeps
the resident set under its limit plus a stated margin, the receiver answers with
retryable errors (503 + Retry-After) while it refuses, and every record it
accepted reaches the backend.
"""

from __future__ import annotations

import threading
import time

from tests.faults.harness import Collector, OtlpClient, arrived, wait_until
from tests.faults.proxy import Fault, HttpFaultProxy, Mode

MIB = 1 << 20
LIMIT_MIB, SPIKE_MIB = 110, 20  # refuse above 90 MiB; an idle collector holds about 70 MiB
# Between two checks (50 ms) the receiver can take what 8 senders have in flight (8 x 100 KB)
# plus Python's unreturned arena memory: stated margin over the hard limit.
MARGIN_MIB = 25
FLOOD = 3.0


def test_memory_limiter_holds_rss_refuses_retryably_and_loses_nothing(fathom, tmp_path, loop, serve, backend):
    slow = serve(HttpFaultProxy(f"http://127.0.0.1:{backend.http_port}"))
    slow.control.set(Mode(Fault.DELAY, delay=0.2))
    collector = Collector(
        fathom, tmp_path,
        processors={"memory_limiter": {"check_interval": "50ms", "limit_mib": LIMIT_MIB,
                                       "spike_limit_mib": SPIKE_MIB}},
        exporters={"otlphttp": {"endpoint": slow.url, "compression": "none",
                                "sending_queue": {"num_consumers": 4, "queue_size": 100000}}},
    )
    idle = collector.rss_bytes()
    client = OtlpClient(collector.otlp_port, "flood", batch=100, pad=1000, retry=True, max_backoff=0.1)
    stop = threading.Event()
    flooding = loop.submit(client.send(10**9, concurrency=8, until=stop.is_set))
    peak, end = idle, time.monotonic() + FLOOD
    while time.monotonic() < end:
        peak = max(peak, collector.rss_bytes())
        time.sleep(0.02)
    stop.set()
    tally = flooding.result(30)
    refused = collector.metric("otelcol_receiver_refused_log_records_total")

    slow.control.set(Mode())  # the backend recovers: the queue drains
    accepted = tally.accepted
    assert wait_until(lambda: len(arrived(backend, "flood:")) >= len(accepted), timeout=30)
    time.sleep(0.2)
    got = arrived(backend, "flood:")
    print(f"\noverload: sent {tally.sent} records, accepted {len(accepted)}, refused {tally.refused} "
          f"(answers {dict(tally.statuses)}), arrived {len(got)}, duplicated {sum(got.values()) - len(got)}; "
          f"RSS idle {idle / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB, limit {LIMIT_MIB} MiB + margin {MARGIN_MIB} MiB")
    assert peak <= (LIMIT_MIB + MARGIN_MIB) * MIB
    assert tally.refused > 0 and set(tally.statuses) <= {200, 429, 503}
    assert all(after >= 1 for after in tally.retry_after)  # every refusal said when to come back
    assert refused == tally.refused  # the collector counts what it refused, as the client saw it
    assert set(got) == accepted and max(got.values()) == 1
    assert collector.stop() == 0
