"""Other collectors to benchmark against, installed at run time, never committed.

``rotel`` is a Rust OTLP collector that PyPI ships as a wheel holding its
``rotel-agent`` binary. It is installed with pip into ``bench/.peers/``
(git-ignored) at a pinned version, so every run compares against the same
build.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROTEL_VERSION = "0.0.1a15"
PEERS = Path(__file__).resolve().parent / ".peers"


def rotel_binary() -> Path:
    """The ``rotel-agent`` executable, pip-installing the pinned wheel on first use."""
    target = PEERS / f"rotel-{ROTEL_VERSION}"
    binary = target / "rotel" / "rotel-agent"
    if not binary.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
             f"rotel=={ROTEL_VERSION}"],
            check=True,
        )
    binary.chmod(0o755)
    return binary


def rotel_command(binary: Path, grpc_port: int, http_port: int, transport: str, sink: str,
                  compression: str) -> list[str]:
    """rotel receiving OTLP on both ports and exporting to ``sink`` over ``transport``.

    Everything else is rotel's default, batching included (8,192 items or
    200 ms), as its documentation recommends running it.
    """
    return [
        str(binary), "start",
        "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
        "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
        "--exporter", "otlp",
        "--otlp-exporter-protocol", transport,
        "--otlp-exporter-endpoint", sink,
        "--otlp-exporter-compression", compression, "--otlp-exporter-logs-compression", compression, "--otlp-exporter-metrics-compression", compression,
    ]
