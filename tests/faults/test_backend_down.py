"""Backend down for a while, then back: with a persistent queue everything accepted arrives.

The backend is made unreachable by closing the proxy's listening port
(connections refused, as for a backend that is not running). While it is
down the collector is also stopped and started again, so what it accepted
must survive on disk, not only in memory.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import Collector, OtlpClient, arrived, wait_until
from tests.faults.proxy import TcpFaultProxy

RETRY_FAST = {"initial_interval": "50ms", "max_interval": "200ms", "max_elapsed_time": 0}


@pytest.mark.parametrize("exporter", ["otlp", "otlphttp"])
def test_backend_down_then_back_loses_nothing(fathom, tmp_path, loop, serve, backend, exporter):
    port = backend.grpc_port if exporter == "otlp" else backend.http_port
    proxy = serve(TcpFaultProxy(port))
    loop.run(proxy.down())
    endpoint = f"http://127.0.0.1:{proxy.port}"
    exporters = {exporter: {"endpoint": endpoint, "timeout": "1s", "retry_on_failure": RETRY_FAST,
                            "sending_queue": {"storage": "file_storage", "num_consumers": 4}}}
    extensions = {"file_storage": {"directory": str(tmp_path / "storage"), "fsync": "never"}}

    first = Collector(fathom, tmp_path, exporters=exporters, extensions=extensions, shutdown_timeout=0.5)
    client = OtlpClient(first.otlp_port, "down")
    tally = loop.run(client.send(100, concurrency=4))
    assert len(tally.accepted) == tally.sent == 1000
    time.sleep(0.5)  # retries against a refused port
    assert first.metric("otelcol_exporter_queue_size") > 0
    assert first.metric("otelcol_exporter_sent_log_records_total") == 0
    assert first.stop() == 0  # graceful: cannot drain, so what is queued stays on disk

    second = Collector(fathom, tmp_path, exporters=exporters, extensions=extensions)
    time.sleep(0.3)
    loop.run(proxy.up())
    assert wait_until(lambda: len(arrived(backend)) >= len(tally.accepted))
    time.sleep(0.2)  # anything extra (a duplicate) would show up now
    got = arrived(backend, "down:")
    assert set(got) == tally.accepted
    assert max(got.values()) == 1, f"duplicated: {sum(got.values()) - len(got)}"
    assert second.metric("otelcol_exporter_sent_log_records_total") == 1000
    assert second.metric("otelcol_exporter_send_failed_log_records_total") == 0
    assert second.stop() == 0
