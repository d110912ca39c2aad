"""filelog across a SIGHUP reload of a real ``fathom run``: read positions and open files pass to the new config."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time
from pathlib import Path

from tests.cli.test_cli import seqs, wait_ready
from tests.conftest import free_port


def write_config(path: Path, log: Path, out: Path, *, health: int, metrics: int) -> None:
    path.write_text(textwrap.dedent(f"""
        receivers:
          filelog: {{include: ["{log}"], start_at: beginning, poll_interval: 20ms, force_flush_period: 50ms}}
        exporters:
          testfile: {{path: "{out}"}}
        extensions:
          health_check: {{endpoint: "127.0.0.1:{health}"}}
        service:
          extensions: [health_check]
          telemetry: {{metrics: {{address: "127.0.0.1:{metrics}"}}}}
          pipelines:
            logs: {{receivers: [filelog], exporters: [testfile]}}
    """))


def test_sighup_mid_stream_loses_and_repeats_no_line(fathom, tmp_path):
    log, first, second, config = tmp_path / "app.log", tmp_path / "first.jsonl", tmp_path / "second.jsonl", \
        tmp_path / "c.yaml"
    health, metrics = free_port(), free_port()
    write_config(config, log, first, health=health, metrics=metrics)
    app = open(log, "a")
    process = fathom("run", "--config", str(config))
    wait_ready(health)
    n = 0

    def append(lines: int) -> None:
        nonlocal n
        app.write("".join(json.dumps({"run": "one", "seq": i}) + "\n" for i in range(n, n + lines)))
        app.flush()
        n += lines

    for _ in range(40):
        append(25)
        time.sleep(0.005)
    # Rotate out of the glob (the app still holds the old file) and reload at once: whichever instance
    # finds the rename, the lines written to the old file before it must all be read.
    append(200)
    os.replace(log, tmp_path / "app.log.1")
    append(100)
    write_config(config, log, second, health=health, metrics=metrics)
    process.signal(signal.SIGHUP)
    app.close()
    app = open(log, "a")
    for _ in range(40):
        append(25)
        time.sleep(0.005)
    app.close()
    process.wait_for_log("configuration reloaded")
    deadline = time.monotonic() + 10
    while len(seqs(first, second)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    process.signal(signal.SIGTERM)
    assert process.wait() == 0, process.stderr
    got = seqs(first, second)
    assert sorted(got) == list(range(n)), f"{n - len(set(got))} lines lost, {len(got) - len(set(got))} repeated"
    assert seqs(first) and seqs(second), "the reload did not happen mid-stream"
