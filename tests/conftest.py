"""Shared by every test: a real ``fathom`` process, free ports, and the third-party test plugin installed."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

PLUGIN = Path(__file__).parent / "plugin"


def pytest_configure(config: pytest.Config) -> None:
    """Install tests/plugin like any third-party package: through pip, entry points and all.

    Before collection, so tests parametrized over the registered factories
    include the plugin's on a fresh machine's first run too. Editable, so a
    machine that kept an older install still runs this checkout's plugin.
    """
    spec = importlib.util.find_spec("fathom_testplugin")
    if spec is None or not str(spec.origin).startswith(str(PLUGIN)):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "-e", str(PLUGIN)], check=True)
        # Subprocesses find it through the new .pth file; this process read those at start-up.
        sys.path.insert(0, str(PLUGIN))
        importlib.invalidate_caches()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fathom:
    """A ``fathom`` subprocess with its stderr captured to a file."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.stderr_path = tmp / f"stderr-{time.monotonic_ns()}.log"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "collector", *args], stderr=self._stderr,
                                     stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    def wait_for_log(self, text: str, timeout: float = 20) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.stderr:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"fathom exited with {self.proc.returncode}:\n{self.stderr}")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged within {timeout}s:\n{self.stderr}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._stderr.close()


@pytest.fixture
def fathom(tmp_path: Path) -> Iterator:
    started: list[Fathom] = []

    def start(*args: str) -> Fathom:
        process = Fathom(tmp_path, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()
