"""The persistent queue's disk fills up: refusals are counted and reach the sender,
nothing accepted is lost, nothing on disk is corrupted, and the queue takes data
again once the backend has drained it.

The queue lives on a 1 MiB tmpfs mounted for the test (root only; skipped
otherwise, rather than filling a disk that other work shares). The backend
is down, so everything accepted stays queued until the disk refuses writes.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.faults.harness import Collector, OtlpClient, arrived, wait_until
from tests.faults.proxy import TcpFaultProxy

DISK = "1m"
PAD = 1000  # bytes per record: a batch of 10 is about 10 KB


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "disk"
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a {DISK} tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def recovered_batches(stderr: str) -> int:
    found = re.search(r"persistent queue recovered (\d+) batches to send; cut (\d+) bytes", stderr)
    assert found, stderr
    assert found.group(2) == "0", "a record was torn or corrupt"
    return int(found.group(1))


def test_disk_full_refuses_counted_keeps_every_record_and_recovers(fathom, tmp_path, tiny_disk, loop, serve, backend):
    proxy = serve(TcpFaultProxy(backend.http_port))
    loop.run(proxy.down())
    exporters = {"otlphttp": {
        "endpoint": f"http://127.0.0.1:{proxy.port}", "compression": "none",
        "retry_on_failure": {"initial_interval": "50ms", "max_interval": "100ms", "max_elapsed_time": 0},
        "sending_queue": {"storage": "file_storage", "queue_size": 100000, "num_consumers": 2}}}
    extensions = {"file_storage": {"directory": str(tiny_disk), "fsync": "never", "segment_mib": 1}}

    first = Collector(fathom, tmp_path, exporters=exporters, extensions=extensions)
    client = OtlpClient(first.otlp_port, "full", batch=10, pad=PAD)
    tally = loop.run(client.send(150, concurrency=2))  # ~1.5 MiB of batches for 1 MiB of disk
    refused = first.metric("otelcol_exporter_enqueue_failed_log_records_total")
    accepted = len(tally.accepted)
    expected = accepted  # what the disk refused was refused to the sender (503), not accepted and dropped
    assert refused > 0 and expected > 0
    assert tally.refused == refused and tally.statuses[503] * 10 == refused
    assert accepted + refused == tally.sent
    assert "cannot persist a batch" in first.process.stderr
    first.process.signal(signal.SIGKILL)
    first.process.wait()

    # Restart on the full disk, backend still down: every intact record is read back.
    second = Collector(fathom, tmp_path, exporters=exporters, extensions=extensions)
    assert wait_until(lambda: "persistent queue recovered" in second.process.stderr)
    recovered = recovered_batches(second.process.stderr)
    assert recovered * 10 == expected  # queued and in flight, every one of them intact
    loop.run(proxy.up())
    assert wait_until(lambda: len(arrived(backend, "full:")) >= expected, timeout=20)
    time.sleep(0.2)
    got = arrived(backend, "full:")
    assert len(got) == expected and set(got) <= tally.accepted and max(got.values()) == 1

    # Space returned: the drained queue took its segments off the disk and takes new data.
    assert wait_until(lambda: second.metric("otelcol_exporter_queue_size") == 0)
    more = loop.run(OtlpClient(second.otlp_port, "again", batch=10, pad=PAD).send(50, concurrency=2))
    assert wait_until(lambda: len(arrived(backend, "again:")) == len(more.accepted) == 500), second.process.stderr[-3000:]
    assert second.metric("otelcol_exporter_enqueue_failed_log_records_total") == 0
    print(f"\ndisk full ({DISK} tmpfs): sent {tally.sent}, accepted (HTTP 200) {accepted}, refused (HTTP 503) "
          f"{refused:g}, recovered after kill -9 {recovered} batches, arrived {len(got)}, duplicated "
          f"{sum(got.values()) - len(got)}; after space returned: sent 500, arrived "
          f"{len(arrived(backend, 'again:'))}, refused 0")
    assert second.stop() == 0
