"""A hanging and a slow backend do not slow a healthy exporter down.

The same offered load runs twice through a real collector: once with only
the healthy exporter (the baseline), once with two more exporters beside
it, one behind a proxy that never answers and one behind a proxy that
answers after half a second. The healthy backend's arrivals over equal
windows are compared: the faulted run must keep 90% of the baseline.
"""

from __future__ import annotations

import threading
import time

from tests.faults.harness import Collector, OtlpClient, arrived
from tests.faults.proxy import Fault, HttpFaultProxy, Mode

WARMUP, WINDOW = 0.5, 1.5
# 2 workers x 50 records every 40 ms: 2,500 records/s offered, well under what either process sustains
# (the client and backend share the test process), so the rate measures the collector, not the test.
LOAD = {"concurrency": 2, "interval": 0.04}


def healthy_rate(fathom, tmp_path, loop, backend, exporters: dict) -> tuple[float, float, OtlpClient, Collector]:
    """Records per second sent and reaching ``backend`` over a window, while the client sends steadily."""
    collector = Collector(fathom, tmp_path, exporters=exporters, shutdown_timeout=0.5)
    tag = f"run{time.monotonic_ns()}"
    client = OtlpClient(collector.otlp_port, tag, batch=50)
    stop = threading.Event()
    sending = loop.submit(client.send(10**9, until=stop.is_set, **LOAD))
    time.sleep(WARMUP)
    before, sent0 = len(arrived(backend, tag)), client.tally.sent
    time.sleep(WINDOW)
    after, sent1 = len(arrived(backend, tag)), client.tally.sent
    stop.set()
    sending.result(10)
    return (sent1 - sent0) / WINDOW, (after - before) / WINDOW, client, collector


def test_hanging_and_slow_exporters_do_not_slow_the_healthy_one(fathom, tmp_path, loop, serve, backend):
    healthy = {"otlphttp/healthy": {"endpoint": f"http://127.0.0.1:{backend.http_port}", "compression": "none"}}
    offered, baseline, _, collector = healthy_rate(fathom, tmp_path, loop, backend, healthy)
    collector.stop()

    hang = serve(HttpFaultProxy(f"http://127.0.0.1:{backend.http_port}"))
    hang.control.set(Mode(Fault.HANG))
    slow = serve(HttpFaultProxy(f"http://127.0.0.1:{backend.http_port}"))
    slow.control.set(Mode(Fault.DELAY, delay=0.5))
    faulty = {"timeout": "1s", "sending_queue": {"num_consumers": 2, "queue_size": 20}, "compression": "none",
              "retry_on_failure": {"initial_interval": "50ms", "max_interval": "200ms"}}
    exporters = {**healthy,
                 "otlphttp/hang": {"endpoint": hang.url, **faulty},
                 "otlphttp/slow": {"endpoint": slow.url, **faulty}}
    offered_too, faulted, client, collector = healthy_rate(fathom, tmp_path, loop, backend, exporters)

    ratio = faulted / baseline
    print(f"\nisolation: healthy exporter alone {baseline:.0f} records/s (sent {offered:.0f}/s), beside a hanging "
          f"and a slow one {faulted:.0f} records/s (sent {offered_too:.0f}/s): ratio {ratio:.3f}; "
          f"attempts: hang {hang.control.count()}, slow {slow.control.count()}")
    assert ratio >= 0.9, (baseline, faulted)
    assert hang.control.count(Fault.HANG) >= 2  # it did hang, and was retried after the timeout
    assert slow.control.count(Fault.DELAY) >= 2
    # The stuck exporters' queues filled: what they could not take is counted, not silently lost.
    assert collector.metric("otelcol_exporter_enqueue_failed_log_records_total", exporter="otlphttp/hang") > 0
    assert collector.metric("otelcol_exporter_sent_log_records_total", exporter="otlphttp/hang") == 0
    assert len(client.tally.accepted) == client.tally.sent
