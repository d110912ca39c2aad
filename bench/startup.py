"""How fast ``fathom run`` is ready, and ``fathom validate`` done: sidecars must start fast.

For each source tree (``--tree``, default: this checkout; give a second one,
e.g. a ``git worktree`` of an older commit, to compare in the same run), the
runs are interleaved so machine load hits every tree alike. Each ``run``
starts ``python -m collector run`` on the config (default: the embedded
default) and measures the time from exec until its health_check answers 200,
then its RSS (VmRSS) at that moment, then SIGTERMs it. Each ``validate`` is
timed to exit. Medians of ``--runs`` are printed, then, from one ``run`` per
tree under ``python -X importtime`` until it is ready, the slowest imports and
the import time of each top-level package.

    python bench/startup.py [--runs 7] [--tree PATH ...] [--config FILE] [--health URL] [--top 25]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent.parent


def _command(verb: str, config: str | None, python_flags: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, *python_flags, "-m", "collector", verb, *(["--config", config] if config else [])]


def _env(tree: Path) -> dict[str, str]:
    # PYTHONPATH goes before the editable install's finder, so each tree runs its own code. Bytecode
    # is written and a first run discarded, as an installed collector has its .pyc files.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return response.status == 200
    except OSError:
        return False


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _serve(tree: Path, config: str | None, url: str, python_flags: tuple[str, ...] = (),
           stderr: IO[str] | int = subprocess.DEVNULL, timeout: float = 30.0) -> tuple[float, float]:
    """Seconds from exec to the health check answering 200, and MiB of RSS then; then SIGTERM."""
    start = time.perf_counter()
    proc = subprocess.Popen(_command("run", config, python_flags), cwd=tree, env=_env(tree),
                            stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        while not _ready(url):
            if proc.poll() is not None:
                raise RuntimeError(f"fathom run in {tree} exited with {proc.returncode} before it was ready")
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"fathom run in {tree} was not ready after {timeout:.0f} s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        return elapsed, _rss_mib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def time_validate(tree: Path, config: str | None) -> float:
    start = time.perf_counter()
    subprocess.run(_command("validate", config), cwd=tree, env=_env(tree), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def import_times(tree: Path, config: str | None, url: str) -> list[tuple[int, int, str]]:
    """(cumulative µs, self µs, indented module name) of every import of one ``run`` until it is ready."""
    with tempfile.TemporaryFile("w+") as stderr:
        _serve(tree, config, url, ("-X", "importtime"), stderr)
        stderr.seek(0)
        lines = stderr.read().splitlines()
    rows = []
    for line in lines:
        if line.startswith("import time:") and "cumulative" not in line:
            own, cumulative, name = line.removeprefix("import time:").split("|")
            rows.append((int(cumulative), int(own), name.rstrip()))
    return rows


def print_imports(tree: Path, rows: list[tuple[int, int, str]], top: int) -> None:
    """The slowest imports (nesting kept) and the self time of each top-level package."""
    print(f"\n{tree}: {sum(own for _, own, _ in rows) / 1000:.1f} ms importing {len(rows)} modules until ready")
    print("slowest imports (ms cumulative, ms self):")
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1000:8.1f} {own / 1000:8.1f}  {name}")
    packages: Counter[str] = Counter()
    for _, own, name in rows:
        packages[name.strip().split(".")[0]] += own
    print("self time by top-level package (ms):")
    for package, own in packages.most_common(top):
        print(f"  {own / 1000:8.1f}  {package}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tree", action="append", type=Path, help="a source tree (repeat; default: this one)")
    parser.add_argument("--config", help="a config file (default: the embedded default)")
    parser.add_argument("--health", default="http://127.0.0.1:13133/", help="the config's health_check URL")
    parser.add_argument("--top", type=int, default=25, help="how many imports and packages to show")
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree or [HERE]]
    ready: dict[Path, list[float]] = {t: [] for t in trees}
    rss: dict[Path, list[float]] = {t: [] for t in trees}
    validate: dict[Path, list[float]] = {t: [] for t in trees}
    for tree in trees:
        _serve(tree, args.config, args.health)
    for _ in range(args.runs):
        for tree in trees:
            seconds, mib = _serve(tree, args.config, args.health)
            ready[tree].append(seconds)
            rss[tree].append(mib)
            validate[tree].append(time_validate(tree, args.config))
    print(f"median of {args.runs} runs")
    print(f"{'tree':<40} {'run ready s':>12} {'RSS MiB':>8} {'validate s':>11}")
    for tree in trees:
        print(f"{str(tree):<40} {statistics.median(ready[tree]):>12.3f} {statistics.median(rss[tree]):>8.1f} "
              f"{statistics.median(validate[tree]):>11.3f}")
    if len(trees) > 1:
        base, last = trees[0], trees[-1]
        print(f"ratio {base.name}/{last.name}: ready "
              f"{statistics.median(ready[base]) / statistics.median(ready[last]):.2f}x, RSS "
              f"{statistics.median(rss[base]) / statistics.median(rss[last]):.2f}x, validate "
              f"{statistics.median(validate[base]) / statistics.median(validate[last]):.2f}x")
    for tree in trees:
        print_imports(tree, import_times(tree, args.config, args.health), args.top)

if __name__ == "__main__":
    main()
