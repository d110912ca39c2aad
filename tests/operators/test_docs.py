"""The docs cannot drift: the component reference is what docs/gen_reference.py writes today,
and every config example in the operator docs is a valid config."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
import yaml

from collector.config import load_config_text
from collector.registry import Registry
from collector.resolve import resolve

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_committed_component_reference_is_up_to_date():
    generator = runpy.run_path(str(DOCS / "gen_reference.py"))
    assert (DOCS / "components.md").read_text() == generator["render"](), \
        "docs/components.md is out of date: run python docs/gen_reference.py"


def test_the_reference_documents_every_field_of_the_operator_facing_components():
    text = (DOCS / "components.md").read_text()
    for anchor in ("extension-status", "exporter-loadbalancing", "receiver-filelog", "connector-logs_to_metrics"):
        assert f'<a id="{anchor}"></a>' in text
    assert "| `resolver.dns.hostname` |" in text and "| `history` |" in text


@pytest.mark.parametrize("page", ["scaling.md", "status-page.md"])
def test_yaml_examples_in_the_docs_are_valid_configs(page):
    """Each example is completed with a minimal pipeline around what it shows, then resolved."""
    blocks = re.findall(r"```yaml\n(.*?)```", (DOCS / page).read_text(), re.S)
    assert blocks
    for block in blocks:
        data = yaml.safe_load(block)
        data.setdefault("receivers", {"otlp": {"protocols": {"grpc": {}}}})
        data.setdefault("exporters", {"debug": {}})
        service = data.setdefault("service", {})
        exporters = [e for e in data["exporters"]]
        service.setdefault("pipelines", {"metrics": {"receivers": ["otlp"], "exporters": exporters}})
        resolve(load_config_text(yaml.safe_dump(data), page), Registry.discover())  # raises ConfigErrors
