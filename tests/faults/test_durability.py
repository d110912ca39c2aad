"""Nothing accepted is lost: a real ``fathom run`` killed with SIGKILL, then restarted.

Each case counts exactly what the source generated and the collector
accepted (its own counters, scraped just before the kill) against what the
backend finally received.
"""

from __future__ import annotations

import json
import signal
import textwrap
import time
from collections import Counter
from pathlib import Path

from tests.cli.test_cli import get, wait_ready
from tests.conftest import free_port


def config(path: Path, *, tag: str, out: Path, storage: Path, down_flag: Path, delay: float,
           health: int, metrics: int) -> Path:
    path.write_text(textwrap.dedent(f"""
        receivers:
          testgen: {{batch: 10, interval: 0.005, tag: {tag}}}
        exporters:
          testfile:
            path: {out}
            delay: {delay}
            down_flag: {down_flag}
            retry_on_failure: {{initial_interval: 50ms, max_interval: 100ms, max_elapsed_time: 0}}
            sending_queue: {{storage: file_storage, num_consumers: 2, queue_size: 100000}}
        extensions:
          file_storage: {{directory: {storage}, fsync: never}}
          health_check: {{endpoint: "127.0.0.1:{health}"}}
        service:
          extensions: [file_storage, health_check]
          telemetry: {{metrics: {{address: "127.0.0.1:{metrics}"}}}}
          pipelines:
            logs: {{receivers: [testgen], exporters: [testfile]}}
    """))
    return path


def accepted(metrics_port: int) -> int:
    page = get(f"http://127.0.0.1:{metrics_port}/metrics")[1]
    lines = [l for l in page.splitlines() if l.startswith("otelcol_receiver_accepted_log_records_total{")]
    return int(float(lines[0].rsplit(" ", 1)[1])) if lines else 0


def received(out: Path, run: str) -> Counter:
    if not out.exists():
        return Counter()
    return Counter(r["seq"] for r in map(json.loads, out.read_text().splitlines()) if r["run"] == run)


def kill_and_restart(fathom, tmp_path: Path, *, down: bool, delay: float) -> tuple[int, Counter]:
    out, storage, flag = tmp_path / "out.jsonl", tmp_path / "storage", tmp_path / "down"
    if down:
        flag.touch()
    health, metrics = free_port(), free_port()
    first = fathom("run", "--config", str(config(tmp_path / "1.yaml", tag="one", out=out, storage=storage,
                                                    down_flag=flag, delay=delay, health=health, metrics=metrics)))
    wait_ready(health)
    time.sleep(1.0)
    before_kill = accepted(metrics)
    first.signal(signal.SIGKILL)
    first.wait()
    flag.unlink(missing_ok=True)
    health, metrics = free_port(), free_port()
    # The restarted generator is tagged apart, so the first run's records can be counted alone.
    second = fathom("run", "--config", str(config(tmp_path / "2.yaml", tag="two", out=out, storage=storage,
                                                     down_flag=flag, delay=0, health=health, metrics=metrics)))
    wait_ready(health)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        got = received(out, "one")
        if got and len(got) >= before_kill and sorted(got) == list(range(len(got))):
            break
        time.sleep(0.1)
    second.signal(signal.SIGTERM)
    assert second.wait() == 0
    return before_kill, received(out, "one")


def test_backend_down_then_kill_9_then_everything_arrives(fathom, tmp_path):
    before_kill, got = kill_and_restart(fathom, tmp_path, down=True, delay=0)
    assert before_kill > 100
    # Everything accepted before the kill (and the little accepted after the scrape) arrives exactly once.
    assert sorted(got) == list(range(len(got))) and len(got) >= before_kill
    assert max(got.values()) == 1


def test_kill_9_under_load_loses_nothing_and_duplicates_only_what_was_in_flight(fathom, tmp_path):
    # A slow backend: some batches are mid-send when the process dies.
    before_kill, got = kill_and_restart(fathom, tmp_path, down=False, delay=0.05)
    assert sorted(got) == list(range(len(got))) and len(got) >= before_kill > 100
    duplicated = sum(n - 1 for n in got.values())
    # at most the batches two consumers had in flight: 2 batches of 10 records
    assert duplicated <= 20, duplicated
