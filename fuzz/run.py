"""Run the fuzz targets under atheris (libFuzzer for Python), one subprocess each.

    python -m fuzz.run --seconds 600            # the long run: 10 minutes per target
    python -m fuzz.run --runs 500 emf_line      # a short, bounded run of one target

Each target starts from its seed corpus in ``fuzz/corpus/<target>/`` and keeps
what it learns in ``fuzz/.work/<target>/`` (not committed). A crash, an
unexpected exception, an input slower than ``--timeout`` seconds or memory
over ``--rss-mb`` stops that target, leaves the input in
``fuzz/findings/<target>-*`` and makes the exit status 1. Reproduce a
finding with ``python -m fuzz.run --reproduce <target> <file>``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: packages whose Python code atheris instruments for coverage
INSTRUMENTED = ["collector", "receivers", "fuzz"]
MAX_LEN = 64 * 1024
_DONE = re.compile(rb"stat::number_of_executed_units: *(\d+)")


def _target_names() -> list[str]:
    from fuzz.targets import TARGETS  # imported only here: the child must import them instrumented

    return list(TARGETS)


def fuzz_child(name: str, libfuzzer_args: list[str]) -> None:
    """Inside the subprocess: import the targets instrumented and hand control to libFuzzer."""
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED):
        from fuzz.targets import TARGETS
    atheris.Setup([sys.argv[0], *libfuzzer_args], TARGETS[name])
    atheris.Fuzz()


def run_target(name: str, *, seconds: int | None, runs: int | None, timeout: int, rss_mb: int) -> tuple[bool, int, str]:
    """``(passed, inputs tried, libFuzzer's output)`` for one target."""
    work, seeds, findings = HERE / ".work" / name, HERE / "corpus" / name, HERE / "findings"
    work.mkdir(parents=True, exist_ok=True)
    findings.mkdir(exist_ok=True)
    args = [f"-timeout={timeout}", f"-rss_limit_mb={rss_mb}", f"-max_len={MAX_LEN}",
            f"-artifact_prefix={findings}/{name}-", "-print_final_stats=1"]
    args.append(f"-max_total_time={seconds}" if seconds else f"-runs={runs}")
    command = [sys.executable, "-m", "fuzz.run", "--child", name, "--", *args, str(work), str(seeds)]
    done = subprocess.run(command, cwd=HERE.parent, capture_output=True)
    output = done.stdout + done.stderr
    tried = sum(int(m.group(1)) for m in _DONE.finditer(output))
    return done.returncode == 0, tried, output.decode("utf-8", "replace")


def reproduce(name: str, path: str) -> None:
    from fuzz.targets import TARGETS

    TARGETS[name](Path(path).read_bytes())
    print(f"{name}: {path} passes")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        fuzz_child(argv[1], argv[3:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="targets to run (default: all)")
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--seconds", type=int, help="time per target")
    limit.add_argument("--runs", type=int, default=1000, help="inputs per target (default 1000)")
    parser.add_argument("--timeout", type=int, default=5, help="seconds one input may take before it is a hang")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory limit of a target process")
    parser.add_argument("--reproduce", nargs=2, metavar=("TARGET", "FILE"), help="run one input and report")
    options = parser.parse_args(argv)
    if options.reproduce:
        reproduce(*options.reproduce)
        return 0
    names = options.targets or _target_names()
    failed = []
    for name in names:
        start = time.monotonic()
        passed, tried, output = run_target(name, seconds=options.seconds, runs=None if options.seconds else options.runs,
                                           timeout=options.timeout, rss_mb=options.rss_mb)
        corpus = len(list((HERE / ".work" / name).iterdir()))
        print(f"{name:16} {'ok' if passed else 'FAILED':6} {tried:>9} inputs  {time.monotonic() - start:6.1f} s  "
              f"{corpus} corpus entries learnt", flush=True)
        if not passed:
            failed.append(name)
            print(output[-4000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
