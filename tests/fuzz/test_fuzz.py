"""The CI fuzz run: every target over its seeds and 1,000 mutations, in-process, no crash and no hang.

The coverage-guided long run is ``python -m fuzz.run --seconds 600`` (fuzz/README.md);
one short atheris run here proves that harness still starts and finishes.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz.quick import quick_run
from fuzz.targets import TARGETS

ITERATIONS = int(os.environ.get("FATHOM_FUZZ_ITERATIONS", 1000))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_survives_mutations(name):
    assert quick_run(name, TARGETS[name], ITERATIONS) > ITERATIONS


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
def test_atheris_harness_runs_a_target():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "fuzz.run", "--runs", "200", "emf_line"], cwd=root,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "emf_line         ok" in done.stdout
