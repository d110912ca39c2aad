"""The ``fathom`` command end to end, on real subprocesses."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import free_port


def fathom_cmd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "collector", *args], capture_output=True, text=True, timeout=60)


def seqs(*paths: Path, run: str = "one") -> list[int]:
    """The sequence numbers one run's records arrived with, in arrival order."""
    records = [json.loads(line) for path in paths if path.exists() for line in path.read_text().splitlines()]
    return [r["seq"] for r in records if r["run"] == run]


def write_config(path: Path, out: Path, *, health: int, metrics: int, delay: float = 0.02, extra: str = "",
                 tag: str = "one") -> Path:
    path.write_text(textwrap.dedent(f"""
        receivers:
          testgen: {{batch: 10, interval: 0.01, tag: {tag}}}
        exporters:
          testfile: {{path: {out}, delay: {delay}, sending_queue: {{num_consumers: 1}}}}
        extensions:
          health_check: {{endpoint: "127.0.0.1:{health}"}}
        service:
          extensions: [health_check]
          telemetry: {{metrics: {{address: "127.0.0.1:{metrics}"}}}}
          pipelines:
            logs: {{receivers: [testgen], exporters: [testfile]}}
        {extra}
    """))
    return path


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_ready(port: int, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if get(f"http://127.0.0.1:{port}/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("health_check never became ready")


def test_version():
    result = fathom_cmd("--version")
    assert result.returncode == 0 and result.stdout.startswith("fathom ")


def test_components_lists_built_ins_and_the_third_party_plugin():
    result = fathom_cmd("components", "--json")
    rows = {(r["kind"], r["type"]): r for r in json.loads(result.stdout)["components"]}
    assert ("exporter", "debug") in rows and ("processor", "batch") in rows
    assert rows[("receiver", "testgen")]["signals"] == {"logs": "development"}
    assert rows[("exporter", "testfile")]["description"] == "Test plugin: writes records to a file."


def test_validate_explains_a_broken_config_line_by_line(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text(textwrap.dedent("""
        receivers:
          testgen: {batch: 0}
        exporters:
          debugg: {}
        service:
          pipelines:
            logs: {receivers: [testgen], exporters: [debug]}
    """))
    result = fathom_cmd("validate", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "fathom: the config has 3 errors:",
        f"  {config}:3:13: receivers::testgen::batch: invalid value 0: input should be greater than or equal to 1",
        f'  {config}:5:3: exporters::debugg: unknown exporter type "debugg"; did you mean "debug"?',
        f'  {config}:8:46: service::pipelines::logs::exporters[0]: references exporter "debug" which is not '
        'configured; did you mean "debugg"?',
    ]


def test_validate_accepts_the_embedded_default():
    result = fathom_cmd("validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fathom: the config is valid")


def test_print_config_merges_expands_and_redacts(tmp_path):
    base = tmp_path / "a.yaml"
    base.write_text("exporters:\n  debug: {verbosity: basic}\n  otlphttp: {endpoint: 'http://x', headers: {Authorization: secret}}\n")
    over = tmp_path / "b.yaml"
    over.write_text("exporters:\n  debug: {verbosity: '${env:VERB}'}\n")
    result = subprocess.run([sys.executable, "-m", "collector", "print-config", "-c", str(base), "-c", str(over)],
                            capture_output=True, text=True, env={"VERB": "detailed", "PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    assert "verbosity: detailed" in result.stdout
    assert "Authorization: '[REDACTED]'" in result.stdout and "secret" not in result.stdout


def test_sigterm_drains_every_accepted_record_and_exits_0(fathom, tmp_path):
    out = tmp_path / "out.jsonl"
    health, metrics = free_port(), free_port()
    # The exporter is slower than the source, so the queue holds data when SIGTERM arrives.
    config = write_config(tmp_path / "c.yaml", out, health=health, metrics=metrics, delay=0.03)
    process = fathom("run", "--config", str(config))
    wait_ready(health)
    status, page = get(f"http://127.0.0.1:{metrics}/metrics")
    assert status == 200 and "otelcol_receiver_accepted_log_records_total" in page
    time.sleep(1.0)
    status, page = get(f"http://127.0.0.1:{metrics}/metrics")
    queued = [line for line in page.splitlines() if line.startswith("otelcol_exporter_queue_size{")]
    assert queued and float(queued[0].rsplit(" ", 1)[1]) > 0, "nothing queued: the test would prove nothing"
    process.signal(signal.SIGTERM)
    assert process.wait() == 0, process.stderr
    got = seqs(out)
    assert got == list(range(len(got))) and len(got) > 100  # nothing lost, nothing repeated
    assert '"msg":"collector stopped"' in process.stderr


def test_sighup_reloads_a_valid_config_and_rejects_an_invalid_one(fathom, tmp_path):
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    health, metrics = free_port(), free_port()
    # The exporter is slower than the source: it holds a backlog when the reload comes.
    config = write_config(tmp_path / "c.yaml", first, health=health, metrics=metrics, delay=0.03)
    process = fathom("run", "--config", str(config))
    wait_ready(health)
    time.sleep(0.5)
    write_config(config, second, health=health, metrics=metrics, tag="two")
    process.signal(signal.SIGHUP)
    process.wait_for_log("configuration reloaded")
    wait_ready(health)
    config.write_text(config.read_text().replace("testfile:", "testfil:"))
    process.signal(signal.SIGHUP)
    process.wait_for_log("reload rejected")
    assert 'unknown exporter type \\"testfil\\"; did you mean \\"testfile\\"?' in process.stderr
    before = len(second.read_text().splitlines())
    time.sleep(0.3)
    assert len(second.read_text().splitlines()) > before, "the running pipelines stopped after a rejected reload"
    assert get(f"http://127.0.0.1:{health}/")[0] == 200
    process.signal(signal.SIGTERM)
    assert process.wait() == 0
    # The backlog of the first config was handed to its successor, which wrote it to the new path:
    # every record of the first run arrived once, across both files.
    one = seqs(first, second)
    assert sorted(one) == list(range(len(one))) and len(one) > 20
    assert seqs(second, run="one"), "the reload drained instead of handing the backlog over"
    two = seqs(second, run="two")
    assert sorted(two) == list(range(len(two)))


def test_a_second_sigint_forces_exit(fathom, tmp_path):
    out = tmp_path / "out.jsonl"
    health, metrics = free_port(), free_port()
    # An exporter so slow that draining would take minutes.
    config = write_config(tmp_path / "c.yaml", out, health=health, metrics=metrics, delay=5)
    process = fathom("run", "--config", str(config))
    wait_ready(health)
    time.sleep(0.3)
    process.signal(signal.SIGINT)
    process.wait_for_log("shutting down")
    process.signal(signal.SIGINT)
    assert process.wait(timeout=10) == 130


def test_a_port_in_use_fails_start_up_clearly(fathom, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path / "c.yaml", tmp_path / "o", health=port, metrics=free_port())
        process = fathom("run", "--config", str(config))
        assert process.wait() == 1
        assert f"cannot listen on 127.0.0.1:{port}" in process.stderr


def test_the_default_config_turns_otlp_logs_into_prometheus_metrics(fathom, tmp_path):
    """What a new user gets from the README: health, own metrics, logs in, metrics out."""
    from configs import DEFAULT

    faster = tmp_path / "faster.yaml"
    faster.write_text("connectors:\n  logs_to_metrics:\n    flush_interval: 100ms\n")
    process = fathom("run", "--config", str(DEFAULT), "--config", str(faster))
    wait_ready(13133)
    lines = [{"service": "api", "route": "/users", "status": 200, "latency_ms": 12},
             {"service": "api", "route": "/users", "status": 500, "latency_ms": 700},
             {"service": "api", "route": "/users", "status": 200, "latency_ms": 30}]
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"body": {"stringValue": json.dumps(line)}} for line in lines]}]}]}
    request = urllib.request.Request("http://127.0.0.1:4318/v1/logs", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    expected = [
        'http_server_requests_total{service="api",route="/users",status="200",'
        'otel_scope_name="fathom/logs_to_metrics"} 2',
        'http_server_duration_milliseconds_count{service="api",route="/users",'
        'otel_scope_name="fathom/logs_to_metrics"} 3',
        'http_server_duration_milliseconds_sum{service="api",route="/users",'
        'otel_scope_name="fathom/logs_to_metrics"} 742.0',
    ]
    end = time.monotonic() + 10
    while time.monotonic() < end:
        page = get("http://127.0.0.1:9464/metrics")[1]
        if all(line in page.splitlines() for line in expected):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(page)
    own = get("http://127.0.0.1:8888/metrics")[1]
    assert 'otelcol_receiver_accepted_log_records_total{receiver="otlp"' in own
    process.signal(signal.SIGTERM)
    assert process.wait() == 0
