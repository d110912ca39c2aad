"""The status page against a real ``fathom run``: its JSON API, and the page itself in headless Chromium.

The collector runs two log generators at different rates into a file
exporter, a ``logs_to_metrics`` connector with a small cardinality limit, a
``top_contributors`` connector with a short window, and an OTLP exporter whose
backend is down (so warnings are logged) and whose header holds a secret.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import get
from tests.conftest import free_port

SECRET = "Bearer s3cr3t-token"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def status_config(tmp: Path, port: int) -> Path:
    path = tmp / "status.yaml"
    path.write_text(textwrap.dedent(f"""
        receivers:
          testgen/checkout: {{batch: 20, interval: 0.02, tag: checkout}}
          testgen/search: {{batch: 5, interval: 0.02, tag: search}}
        processors:
          batch: {{timeout: 200ms}}
          cardinality_limiter: {{limit: 100, metrics: {{app.records: 20}}}}
        connectors:
          logs_to_metrics:
            flush_interval: 0.5s
            metrics: [{{name: app.records, type: counter, dimensions: [run, seq], cardinality_limit: 30}}]
          top_contributors:
            window: 0.5s
            rules: [{{name: top.runs, keys: [run], top_k: 5}}]
        exporters:
          testfile: {{path: {tmp / "out.jsonl"}}}
          otlp:
            endpoint: 127.0.0.1:{free_port()}
            tls: {{insecure: true}}
            headers: {{authorization: "{SECRET}"}}
            retry_on_failure: {{initial_interval: 0.1s}}
        extensions:
          health_check: {{endpoint: 127.0.0.1:{free_port()}}}
          status: {{endpoint: 127.0.0.1:{port}, interval: 0.25s, rate_window: 2s}}
        service:
          extensions: [health_check, status]
          telemetry: {{metrics: {{address: 127.0.0.1:{free_port()}}}}}
          pipelines:
            logs:
              receivers: [testgen/checkout, testgen/search]
              processors: [batch]
              exporters: [testfile, logs_to_metrics, top_contributors]
            metrics:
              receivers: [logs_to_metrics, top_contributors]
              processors: [cardinality_limiter]
              exporters: [otlp]
    """))
    return path


def rate(status: dict, kind: str, id: str, column: str) -> float:
    return next((c["rates"].get(column, 0.0) for c in status["components"] if (c["kind"], c["id"]) == (kind, id)), 0.0)


def wait_for_traffic(port: int, timeout: float = 20) -> dict:
    """The status once rates, a closed top-contributors window and a logged warning are all there."""
    end = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < end:
        try:
            status = json.loads(get(f"http://127.0.0.1:{port}/api/status")[1])
        except OSError:
            time.sleep(0.1)
            continue
        if (rate(status, "receiver", "testgen/checkout", "received") > 0
                and any(r["top"] for r in status["top_contributors"]) and status["errors"]):
            return status
        time.sleep(0.2)
    raise AssertionError(f"the status never showed traffic: {json.dumps(status)[:2000]}")


@pytest.fixture
def running(fathom, tmp_path):
    port = free_port()
    process = fathom("run", "--config", str(status_config(tmp_path, port)))
    return port, wait_for_traffic(port)


def test_the_api_reports_graph_rates_queues_cardinality_contributors_errors_and_redacted_config(running):
    port, status = running
    assert [p["name"] for p in status["graph"]["pipelines"]] == ["logs", "metrics"]
    assert rate(status, "receiver", "testgen/checkout", "received") > rate(status, "receiver", "testgen/search",
                                                                           "received") > 0
    assert rate(status, "exporter", "testfile", "sent") > 0
    assert {"exporter": "testfile", "size": 0.0, "capacity": 1000.0} in status["queues"]
    assert len(status["charts"]["testfile"]["sent"]) >= 2
    rows = {(r["component"], r["metric"]): r for r in status["cardinality"]}
    assert rows[("logs_to_metrics", "app.records")]["limit"] == 30
    assert rows[("logs_to_metrics", "app.records")]["overflow"] > 0
    (ranking,) = [r for r in status["top_contributors"] if r["top"]]
    assert [item["key"]["run"] for item in ranking["top"]] == ["checkout", "search"]  # 20 per tick beats 5
    assert any(e["logger"] == "fathom.exporter.otlp" and e["level"] == "warning" for e in status["errors"])
    assert "[REDACTED]" in status["config"] and SECRET not in status["config"]


def run_chromium(url: str, profile: Path, screenshot: Path) -> str:
    """The page's DOM after a few seconds of (virtual) time, and a screenshot of it."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--window-size=1100,1250", "--hide-scrollbars",
         "--virtual-time-budget=4000", f"--screenshot={screenshot}", "--dump-dom", url],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium: apt-get install chromium")
def test_the_page_in_chromium_draws_the_pipelines_live_rates_and_the_redacted_config(running, tmp_path):
    port, _ = running
    dom = run_chromium(f"http://127.0.0.1:{port}/", tmp_path / "profile", tmp_path / "status.png")
    assert 'id="ready" class="badge ok"' in dom
    for key in ("receiver:testgen/checkout", "processor:batch@logs", "connector:logs_to_metrics",
                "processor:cardinality_limiter@metrics", "exporter:otlp"):
        assert f'data-key="{key}"' in dom, key  # a node of the SVG picture
    assert "<svg" in dom and "<path" in dom
    # the components table: the generator's received rate is a positive number
    row = re.search(r'<tr data-key="receiver:testgen/checkout">(.*?)</tr>', dom).group(1)
    received = re.findall(r'<td class="num">([^<]*)</td>', row)[0]
    assert float(received.rstrip("k")) > 0
    assert 'data-exporter="testfile"' in dom and "<polyline" in dom  # a chart per exporter
    assert "checkout" in re.search(r'id="contributors".*?</div></div>', dom, re.S).group(0)
    config = re.search(r'<pre id="config">(.*?)</pre>', dom, re.S).group(1)
    assert "[REDACTED]" in config and "s3cr3t" not in config and "testgen/checkout" in config
    assert (tmp_path / "status.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
