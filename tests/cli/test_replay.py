"""``fathom replay``: the configured rules over log files, offline."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap

import pytest

LINES = [
    {"service": "api", "route": "/x", "status": 200, "latency_ms": 12},
    {"service": "api", "route": "/x", "status": 500, "latency_ms": 120},
    {"service": "web", "route": "/", "status": 200, "latency_ms": 3},
]


@pytest.fixture
def logfile(tmp_path):
    path = tmp_path / "access.log"
    path.write_text("\n".join(json.dumps(line) for line in LINES) + "\nnot json\n")
    return path


def replay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "collector", "replay", "--no-progress", *args],
                          capture_output=True, text=True, timeout=60)


def test_replay_prints_the_series_of_the_default_rules_as_a_table(logfile):
    result = replay(str(logfile))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "metric                type       attributes                         value",
        "http.server.duration  histogram  service=web, route=/               count=1 sum=3",
        "http.server.duration  histogram  service=api, route=/x              count=2 sum=132",
        "http.server.requests  sum        service=web, route=/, status=200   1",
        "http.server.requests  sum        service=api, route=/x, status=200  1",
        "http.server.requests  sum        service=api, route=/x, status=500  1",
    ]
    assert result.stderr.splitlines() == ["fathom: 1 bad records: invalid_json"]


def test_replay_as_json_and_from_gzip(logfile, tmp_path):
    zipped = tmp_path / "access.log.gz"
    zipped.write_bytes(gzip.compress(logfile.read_bytes()))
    rows = json.loads(replay("--format", "json", str(zipped), str(logfile)).stdout)
    counts = {(r["attributes"]["service"], r["attributes"]["status"]): r["value"]
              for r in rows if r["name"] == "http.server.requests"}
    assert counts == {("api", "200"): 2, ("api", "500"): 2, ("web", "200"): 2}


def test_replay_as_prometheus_text(logfile):
    out = replay("--format", "prometheus", str(logfile)).stdout
    assert ('http_server_requests_total{service="api",route="/x",status="500",'
            'otel_scope_name="fathom/logs_to_metrics"} 1') in out.splitlines()


def test_replay_needs_one_connector_named_when_there_are_several(tmp_path, logfile):
    config = tmp_path / "c.yaml"
    config.write_text(textwrap.dedent("""
        receivers: {otlp: {protocols: {http: {}}}}
        connectors:
          logs_to_metrics/a: {metrics: [{name: a, type: counter}]}
          logs_to_metrics/b: {metrics: [{name: b, type: counter}]}
        exporters: {debug: {}}
        service:
          pipelines:
            logs: {receivers: [otlp], exporters: [logs_to_metrics/a, logs_to_metrics/b]}
            metrics: {receivers: [logs_to_metrics/a, logs_to_metrics/b], exporters: [debug]}
    """))
    result = replay("-c", str(config), str(logfile))
    assert result.returncode == 1
    assert "several logs_to_metrics connectors (logs_to_metrics/a, logs_to_metrics/b): name one with --connector" \
        in result.stderr
    rows = json.loads(replay("-c", str(config), "--connector", "logs_to_metrics/b", "--format", "json",
                             str(logfile)).stdout)
    assert rows == [{"name": "b", "type": "sum", "unit": "", "attributes": {}, "value": 3}]


@pytest.mark.parametrize("rewind", [True, False], ids=["seek-back", "carry-over"])
@pytest.mark.parametrize("text", [
    b"a\nbb\nccc\n", b"a\nbb\nccc", b"\n\n", b"one-line-longer-than-the-block\nx\n", b"", b"no-newline-at-all",
])
def test_line_blocks_hold_every_line_once_whole(tmp_path, text, rewind):
    from collector.replaytool import line_blocks

    path = tmp_path / "lines"
    path.write_bytes(text)
    with open(path, "rb") as handle:
        blocks = list(line_blocks(handle, size=4, rewind=rewind))
    assert b"\n".join(blocks) == text.removesuffix(b"\n")  # a line cut in two would gain a newline
