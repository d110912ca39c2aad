"""Every ready config in configs/ passes ``fathom validate``, with and without its variables set.

A config naming a component that is not registered fails here (the validator
says which and where); nothing is skipped.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from collector.config import load_config
from collector.registry import Registry
from collector.resolve import resolve

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
READY = ["sidecar.yaml", "cloudwatch-agent-emf.yaml", "gateway.yaml", "daemonset.yaml"]


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "collector", "validate", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", READY)
def test_a_ready_config_is_valid_with_its_defaults(name):
    result = validate(CONFIGS / name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the config is valid" in result.stdout + result.stderr


def test_the_variables_an_operator_sets_keep_the_configs_valid():
    """Values as a Kubernetes manifest would set them: numbers arrive as strings."""
    env = {"MEMORY_LIMIT_MIB": "400", "AWS_REGION": "eu-west-1", "K8S_NODE_NAME": "node-1",
           "GATEWAY_ENDPOINT": "fathom-gateway.observability:4317", "REMOTE_WRITE_AUTHORIZATION": "Bearer x"}
    registry = Registry.discover()
    for name in READY:
        resolve(load_config([str(CONFIGS / name)], env), registry)  # raises ConfigErrors naming each problem


def test_every_ready_config_is_listed_here():
    """A new config in configs/ must be added to READY, so it is validated too."""
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted([*READY, "default.yaml"])
