"""One invalid config per validation rule, with the exact message an operator reads."""

from __future__ import annotations

import textwrap

import pytest

from collector.component import ComponentID, Kind, Signal
from collector.config import ConfigErrors

VALID_TAIL = """
service:
  pipelines:
    logs: {receivers: [source], exporters: [recorder]}
"""



def with_tail(head: str) -> str:
    return textwrap.dedent(head) + VALID_TAIL


CASES = {
    "unknown component type with suggestion": (
        with_tail("""
        receivers: {source: {}}
        exporters: {recorder: {}, recordr: {}}
        """),
        ['config.yaml:3:27: exporters::recordr: unknown exporter type "recordr"; did you mean "recorder"?'],
    ),
    "invalid component id": (
        with_tail("""
        receivers: {source: {}, "source/": {}}
        exporters: {recorder: {}}
        """),
        ["config.yaml:2:25: receivers::source/: invalid component id 'source/': the name after '/' must be "
         "non-empty and hold no spaces or '/'"],
    ),
    "component config must be a mapping": (
        with_tail("""
        receivers: {source: [1]}
        exporters: {recorder: {}}
        """),
        ['config.yaml:2:13: receivers::source: the config of receiver "source" must be a mapping, not a list'],
    ),
    "unknown key in a component config, with suggestion": (
        with_tail("""
        receivers: {source: {}}
        exporters: {recorder: {dely: 1}}
        """),
        ['config.yaml:3:24: exporters::recorder::dely: unknown key "dely"; did you mean "delay"?'],
    ),
    "bad value in a component config": (
        with_tail("""
        receivers: {source: {}}
        exporters: {recorder: {delay: -1}}
        processors: {batch: {timeout: soon}}
        """),
        ["config.yaml:3:24: exporters::recorder::delay: invalid value -1: input should be greater than or equal to 0",
         "config.yaml:4:22: processors::batch::timeout: invalid duration 'soon': expected a number with a unit, "
         "such as '5s', '250ms', '1m30s'"],
    ),
    "service section missing": (
        """
        receivers: {source: {}}
        """,
        ["config.yaml:2:1: the 'service' section is missing: it lists the pipelines to run"],
    ),
    "no pipelines": (
        """
        receivers: {source: {}}
        service: {pipelines: {}}
        """,
        ["config.yaml:3:11: service::pipelines: at least one pipeline is required"],
    ),
    "unknown key in a pipeline": (
        """
        receivers: {source: {}}
        exporters: {recorder: {}}
        service:
          pipelines:
            logs: {receivers: [source], exporter: [recorder]}
        """,
        ['config.yaml:6:33: service::pipelines::logs::exporter: unknown key "exporter"; did you mean "exporters"?'],
    ),
    "invalid pipeline id": (
        """
        receivers: {source: {}}
        exporters: {recorder: {}}
        service:
          pipelines:
            log: {receivers: [source], exporters: [recorder]}
        """,
        ['config.yaml:6:5: service::pipelines::log: invalid pipeline id "log": it must be logs, metrics or traces, '
         'optionally followed by /name; did you mean "logs"?'],
    ),
    "pipeline without receivers or exporters": (
        """
        receivers: {source: {}}
        service:
          pipelines:
            metrics/a: {receivers: [source]}
            metrics/b: {exporters: []}
        """,
        ['config.yaml:5:5: service::pipelines::metrics/a::exporters: pipeline "metrics/a" must have at least one exporter',
         'config.yaml:6:5: service::pipelines::metrics/b::receivers: pipeline "metrics/b" must have at least one receiver',
         'config.yaml:6:17: service::pipelines::metrics/b::exporters: pipeline "metrics/b" must have at least one exporter'],
    ),
    "reference to a component that is not configured": (
        """
        receivers: {source: {}}
        exporters: {recorder: {}, recorder/cwl: {}}
        service:
          pipelines:
            logs: {receivers: [source], exporters: [recorder, recorder/cw]}
        """,
        ['config.yaml:6:55: service::pipelines::logs::exporters[1]: references exporter "recorder/cw" which is not '
         'configured; did you mean "recorder/cwl"?'],
    ),
    "reference listed twice": (
        """
        receivers: {source: {}}
        exporters: {recorder: {}}
        service:
          pipelines:
            logs: {receivers: [source, source], exporters: [recorder]}
        """,
        ['config.yaml:6:32: service::pipelines::logs::receivers[1]: references receiver "source" more than once'],
    ),
    "component that does not support the signal": (
        """
        receivers: {source: {}}
        exporters: {recorder: {}}
        extensions: {health_check: {}}
        service:
          extensions: [health_check, zpages]
          pipelines:
            traces: {receivers: [source], exporters: [recorder]}
        """,
        ['config.yaml:6:30: service::extensions[1]: references extension "zpages" which is not configured '
         "(add it under extensions: or remove the reference)"],
    ),
    "connector used on one side only": (
        """
        receivers: {source: {}}
        exporters: {recorder: {}}
        connectors: {bridge: {}}
        service:
          pipelines:
            logs: {receivers: [source], exporters: [bridge]}
        """,
        ['config.yaml:4:14: connectors::bridge: connector "bridge" is used as exporter in pipeline "logs" '
         "but not as receiver in any pipeline"],
    ),
    "connector between signals it cannot join": (
        """
        receivers: {source: {}}
        exporters: {recorder: {}}
        connectors: {bridge: {}}
        service:
          pipelines:
            logs: {receivers: [source], exporters: [bridge]}
            traces: {receivers: [bridge], exporters: [recorder]}
        """,
        ['config.yaml:4:14: connectors::bridge: connector "bridge" cannot connect logs (pipeline "logs") to traces '
         "(it supports: logs->metrics, logs->logs)",
         'config.yaml:4:14: connectors::bridge: connector "bridge" cannot feed traces pipeline "traces" from the '
         "pipelines that export to it"],
    ),
    "cycle through connectors": (
        """
        receivers: {source: {}}
        exporters: {recorder: {}}
        connectors: {bridge: {}, bridge/back: {}}
        service:
          pipelines:
            logs/a: {receivers: [source, bridge/back], exporters: [bridge]}
            logs/b: {receivers: [bridge], exporters: [bridge/back, recorder]}
        """,
        ["config.yaml:7:5: service::pipelines::logs/a: pipelines form a cycle through connectors: "
         "logs/a -> logs/b -> logs/a"],
    ),
}


@pytest.mark.parametrize("text, expected", CASES.values(), ids=list(CASES))
def test_each_rule_has_an_exact_message(resolve_text, text, expected):
    with pytest.raises(ConfigErrors) as info:
        resolve_text(textwrap.dedent(text))
    assert [str(issue) for issue in info.value.issues] == expected


def test_an_unknown_type_without_a_close_match_lists_the_known_ones(resolve_text, registry):
    text = with_tail("""
        receivers: {source: {}}
        exporters: {recorder: {}}
        processors: {zzzzzz: {}}
        """)
    with pytest.raises(ConfigErrors) as info:
        resolve_text(text)
    known = ", ".join(registry.types(Kind.PROCESSOR))
    assert "pass" in known and "batch" in known
    assert [str(i) for i in info.value.issues] == [
        f'config.yaml:4:14: processors::zzzzzz: unknown processor type "zzzzzz" (known processor types: {known})']


def test_signal_support_is_checked(resolve_text, registry):
    from collector.component import ComponentConfig, Factory, Stability

    registry.register(Factory("metricsonly", Kind.EXPORTER, ComponentConfig, lambda s, c: None,
                              {Signal.METRICS: Stability.ALPHA}))
    text = """
    receivers: {source: {}}
    exporters: {metricsonly: {}}
    service:
      pipelines:
        logs: {receivers: [source], exporters: [metricsonly]}
    """
    with pytest.raises(ConfigErrors) as info:
        resolve_text(textwrap.dedent(text))
    assert [str(i) for i in info.value.issues] == [
        'config.yaml:6:45: service::pipelines::logs::exporters[0]: exporter "metricsonly" does not support logs '
        "(it supports: metrics)"]


def test_every_error_is_reported_at_once(resolve_text):
    text = """
    receivers: {sourc: {}}
    exporters: {recorder: {dely: 1}}
    service:
      pipelines:
        logs: {receivers: [sourc], exporters: [recorder, debug]}
    """
    with pytest.raises(ConfigErrors) as info:
        resolve_text(textwrap.dedent(text))
    messages = [str(i) for i in info.value.issues]
    assert len(messages) == 3, messages  # the invalid receiver is not reported twice


def test_a_valid_config_resolves(resolve_text):
    config = resolve_text(textwrap.dedent("""
    receivers: {source: {}, source/2: {}}
    processors: {pass: {}}
    exporters: {recorder: {}}
    connectors: {bridge: {}}
    service:
      pipelines:
        logs: {receivers: [source, source/2], processors: [pass], exporters: [bridge, recorder]}
        metrics: {receivers: [bridge], exporters: [recorder]}
    """))
    assert config.pipelines["logs"].receivers == (ComponentID("source"), ComponentID("source", "2"))
    assert config.pipelines["metrics"].signal is Signal.METRICS
