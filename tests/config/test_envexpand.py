"""The ${env:...} rules, end to end through the loader (typing depends on the YAML scalar style)."""

import pytest

from collector.config import ConfigErrors, Position, load_config_text

ENV = {"PORT": "4317", "FLAG": "true", "HOST": "collector.local", "EMPTY": "", "COLON": "a: b"}


def value(yaml_value: str, env=ENV):
    return load_config_text(f"receivers:\n  x: {yaml_value}\n", "cfg.yaml", env).data["receivers"]["x"]


def error(yaml_value: str, env=ENV) -> str:
    with pytest.raises(ConfigErrors) as caught:
        load_config_text(f"receivers:\n  x: {yaml_value}\n", "cfg.yaml", env)
    (issue,) = caught.value.issues
    return str(issue)


@pytest.mark.parametrize("reference", ["${env:PORT}", "${PORT}"])
def test_both_forms_read_the_environment(reference):
    assert value(reference) == 4317


def test_plain_whole_reference_is_typed_as_yaml():
    assert value("${env:PORT}") == 4317
    assert value("${env:FLAG}") is True
    assert value("${env:HOST}") == "collector.local"
    assert value("${env:COLON}") == "a: b"  # typed as a scalar only, never a mapping


def test_quoted_reference_stays_a_string():
    assert value('"${env:PORT}"') == "4317"
    assert value("'${env:FLAG}'") == "true"


def test_reference_inside_longer_string_stays_a_string():
    assert value("${env:HOST}:${env:PORT}") == "collector.local:4317"
    assert value("${env:PORT}0") == "43170"


def test_default_applies_only_when_unset():
    assert value("${env:MISSING:-4318}") == 4318
    assert value("${env:EMPTY:-x}") == ""
    assert value("${env:MISSING:-}") == ""
    assert value("${env:MISSING:-a:b c}") == "a:b c"


def test_dollar_dollar_is_a_literal_dollar():
    assert value("price$$5") == "price$5"
    assert value("$${env:PORT}") == "${env:PORT}"
    assert value("a$b") == "a$b"


def test_keys_are_not_expanded():
    loaded = load_config_text("receivers:\n  ${env:PORT}: 1\n", env=ENV)
    assert loaded.data["receivers"] == {"${env:PORT}": 1}


def test_expansion_reaches_sequences_and_nested_mappings():
    loaded = load_config_text("receivers:\n  x:\n    l: [a, '${env:HOST}']\n    m:\n      p: ${env:PORT}\n", env=ENV)
    assert loaded.data["receivers"]["x"] == {"l": ["a", "collector.local"], "m": {"p": 4317}}


def test_unset_variable_expands_to_empty_string_with_warning():
    loaded = load_config_text("receivers:\n  x: ${env:NOPE}\n  y: a${NOPE}b\n", "cfg.yaml", {})
    assert loaded.data["receivers"] == {"x": "", "y": "ab"}
    assert [str(warning) for warning in loaded.warnings] == [
        'cfg.yaml:2:6: receivers::x: environment variable "NOPE" is not set; using ""',
        'cfg.yaml:3:6: receivers::y: environment variable "NOPE" is not set; using ""',
    ]


def test_written_text_of_expanded_values_is_kept():
    loaded = load_config_text("receivers:\n  x: ${env:PORT}\n  y: plain $$\n", env=ENV)
    assert loaded.references == {("receivers", "x"): "${env:PORT}"}


def test_environment_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv("FATHOM_TEST_PORT", "9")
    assert load_config_text("receivers: {x: '${env:FATHOM_TEST_PORT}'}").data["receivers"]["x"] == "9"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("${env:}", 'malformed reference "${env:}": environment variable name "" must match [A-Za-z_][A-Za-z0-9_]*'),
        ("${1X}", 'malformed reference "${1X}": environment variable name "1X" must match [A-Za-z_][A-Za-z0-9_]*'),
        ("a${env:PORT", 'malformed reference "${env:PORT": missing closing "}"'),
        ("${file:/etc/x}", 'unsupported reference "${file:/etc/x}": unknown provider "file"; only "env" is supported'),
        ("${PORT:-1}", 'malformed reference "${PORT:-1}": a default needs the env provider: ${env:PORT:-1}'),
        ("${:x}", 'malformed reference "${:x}": expected ${env:NAME}, ${NAME} or ${env:NAME:-default}'),
        ("'${env:A:-${env:B}}'", 'malformed reference "${env:A:-${env:B}": a reference cannot contain "$"'),
    ],
)
def test_malformed_reference_is_an_error_with_position(written, message):
    assert error(written) == f"cfg.yaml:2:6: receivers::x: {message}"


def test_error_position_is_the_value_not_the_key():
    with pytest.raises(ConfigErrors) as caught:
        load_config_text("receivers:\n  x:\n    - ok\n    - ${bad:x}\n", "cfg.yaml", {})
    assert caught.value.issues[0].position == Position("cfg.yaml", 4, 7)
