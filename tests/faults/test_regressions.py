"""Collector bugs the fault suite ran into, each pinned by a small test of its own."""

from __future__ import annotations

import textwrap

from collector.config import load_config_text
from collector.registry import Registry
from collector.resolve import resolve


def test_a_receiver_and_an_exporter_of_the_same_id_are_not_a_connector_cycle():
    # The gateway shape: the otlp receiver feeding the otlp exporter in one pipeline.
    text = textwrap.dedent("""
        receivers: {otlp: {protocols: {http: {}}}}
        exporters: {otlp: {endpoint: "127.0.0.1:4317"}}
        service:
          pipelines:
            logs: {receivers: [otlp], exporters: [otlp]}
    """)
    resolved = resolve(load_config_text(text, "config.yaml", env={}), Registry.discover())
    assert [str(id) for id in resolved.pipelines["logs"].exporters] == ["otlp"]
