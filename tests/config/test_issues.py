import pytest

from collector.config import ConfigErrors, ConfigIssue, Position, format_path, suggest
from collector.errors import CollectorError


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("service", "pipelines", "logs", "exporters", 1), "service::pipelines::logs::exporters[1]"),
        (("receivers",), "receivers"),
        (("a", 0, 2, "b"), "a[0][2]::b"),
        ((), ""),
    ],
)
def test_format_path(path, text):
    assert format_path(path) == text


def test_issue_with_position_path_and_suggestion():
    issue = ConfigIssue(
        ("service", "pipelines", "logs", "exporters", 1),
        'references exporter "cw" which is not configured',
        Position("cfg.yaml", 12, 7),
        "cwl",
    )
    assert str(issue) == (
        'cfg.yaml:12:7: service::pipelines::logs::exporters[1]: '
        'references exporter "cw" which is not configured; did you mean "cwl"?'
    )


def test_issue_without_position_or_path():
    assert str(ConfigIssue(("service",), "missing")) == "service: missing"
    assert str(ConfigIssue((), "no config file given")) == "no config file given"
    assert str(ConfigIssue((), "bad", Position("f.yaml", 1, 2))) == "f.yaml:1:2: bad"


def test_config_errors_lists_one_issue_per_line():
    exc = ConfigErrors([ConfigIssue(("a",), "one"), ConfigIssue(("b",), "two")])
    assert isinstance(exc, CollectorError)
    assert str(exc) == "a: one\nb: two"
    assert [issue.message for issue in exc.issues] == ["one", "two"]


def test_suggest_closest_ignoring_case():
    assert suggest("promethues", ["prometheus", "otlp", "debug"]) == "prometheus"
    assert suggest("OTLP", ["otlp", "otlphttp"]) == "otlp"
    assert suggest("zzz", ["prometheus", "otlp"]) is None
    assert suggest("x", []) is None
