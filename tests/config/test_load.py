"""Reading one config: positions, YAML typing, and every file-level error with its exact message."""

import pytest

from collector.config import ConfigErrors, Position, load_config, load_config_text


def errors(text: str, name: str = "cfg.yaml", env=None) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_config_text(text, name, env or {})
    return [str(issue) for issue in caught.value.issues]


CONFIG = """\
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:4317"}
exporters:
  debug:
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters:
        - debug
        - otlp
"""


def test_positions_of_keys_and_sequence_items():
    loaded = load_config_text(CONFIG, "cfg.yaml", {})
    assert loaded.files == ["cfg.yaml"]
    assert loaded.positions[()] == Position("cfg.yaml", 1, 1)
    assert loaded.positions[("receivers", "otlp", "protocols")] == Position("cfg.yaml", 3, 5)
    assert loaded.positions[("receivers", "otlp", "protocols", "grpc", "endpoint")] == Position("cfg.yaml", 4, 14)
    assert loaded.positions[("service", "pipelines", "logs", "receivers", 0)] == Position("cfg.yaml", 10, 19)
    assert loaded.positions[("service", "pipelines", "logs", "exporters", 1)] == Position("cfg.yaml", 13, 11)
    assert loaded.data["exporters"] == {"debug": None}


def test_position_falls_back_to_nearest_written_ancestor():
    loaded = load_config_text(CONFIG, "cfg.yaml", {})
    assert loaded.position(("service", "pipelines", "logs", "processors")) == Position("cfg.yaml", 9, 5)
    assert loaded.position(("nowhere", "at", "all")) == Position("cfg.yaml", 1, 1)


def test_scalars_keep_yaml_1_1_typing_but_keys_stay_text():
    loaded = load_config_text(
        "receivers:\n  on: yes\n  1: 0x10\n  n: ~\n  f: 1.5\n  d: 2024-01-02\n  s: '010'\n", env={}
    )
    assert loaded.data["receivers"] == {"on": True, "1": 16, "n": None, "f": 1.5, "d": "2024-01-02", "s": "010"}


def test_merge_keys_and_aliases():
    text = "receivers:\n  base: &b {a: 1, b: 2}\n  x:\n    <<: *b\n    b: 3\n  y: *b\n"
    loaded = load_config_text(text, "cfg.yaml", {})
    assert loaded.data["receivers"]["x"] == {"a": 1, "b": 3}
    assert loaded.data["receivers"]["y"] == {"a": 1, "b": 2}
    assert loaded.positions[("receivers", "x", "b")] == Position("cfg.yaml", 5, 5)


def test_empty_file_is_an_empty_config():
    assert load_config_text("# nothing yet\n", env={}).data == {}


def test_yaml_syntax_error_has_line_and_column():
    assert errors("receivers:\n  otlp: [a, b\nexporters: {}\n") == [
        "cfg.yaml:3:10: invalid YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 2, column 9)"
    ]


def test_tab_indentation_is_a_yaml_error():
    assert errors("receivers:\n\totlp: {}\n") == [
        "cfg.yaml:2:1: invalid YAML: found character '\\t' that cannot start any token"
    ]


def test_several_documents_are_an_error():
    assert errors("receivers: {}\n---\nexporters: {}\n") == [
        "cfg.yaml:2:1: invalid YAML: expected a single document in the stream, but found another document"
    ]


def test_duplicate_key_names_both_positions():
    assert errors("exporters:\n  debug: {}\n  otlp: {}\n  debug: {}\n") == [
        'cfg.yaml:4:3: exporters::debug: duplicate key "debug"; first defined at cfg.yaml:2:3'
    ]


def test_top_level_must_be_a_mapping():
    assert errors("- receivers\n- exporters\n") == [
        "cfg.yaml:1:1: the top level must be a mapping of sections "
        "(receivers, processors, exporters, connectors, extensions, service), not a list"
    ]
    assert errors("just text\n")[0].endswith("not the value 'just text'")


def test_unknown_top_level_key_with_suggestion():
    assert errors("recievers: {}\nexporters: {}\nfoo: 1\n") == [
        'cfg.yaml:1:1: recievers: unknown top-level key "recievers"; did you mean "receivers"?',
        'cfg.yaml:3:1: foo: unknown top-level key "foo"',
    ]


def test_unsupported_tag():
    assert errors("receivers:\n  x: !!binary aGk=\n") == ['cfg.yaml:2:6: receivers::x: unsupported YAML tag "!!binary"']
    assert errors("receivers: !custom {}\n") == ['cfg.yaml:1:12: receivers: unsupported YAML tag "!custom"']


def test_explicit_tag_on_unfit_text():
    assert errors("receivers:\n  x: !!int abc\n  y: !!bool maybe\n") == [
        'cfg.yaml:2:6: receivers::x: "abc" is not a valid !!int',
        'cfg.yaml:3:6: receivers::y: "maybe" is not a valid !!bool',
    ]


def test_complex_key_is_an_error():
    assert errors("receivers:\n  ? [a, b]\n  : 1\n") == [
        "cfg.yaml:2:5: receivers: a mapping key must be a plain value, not a mapping or sequence"
    ]


def test_recursive_alias_is_an_error():
    assert errors("receivers: &r\n  self: *r\n") == [
        "cfg.yaml:2:3: receivers::self: recursive alias: a node cannot contain itself"
    ]


def test_all_problems_of_all_files_are_reported(tmp_path):
    bad_yaml = tmp_path / "a.yaml"
    bad_yaml.write_text("receivers: [\n")
    bad_key = tmp_path / "b.yaml"
    bad_key.write_text("exporter: {}\nservice:\n  x: ${file:/etc/x}\n")
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigErrors) as caught:
        load_config([str(missing), str(bad_yaml), str(bad_key)], env={})
    assert [str(issue) for issue in caught.value.issues] == [
        f'cannot read config file "{missing}": No such file or directory',
        f"{bad_yaml}:2:1: invalid YAML: expected the node content, but found '<stream end>'"
        f" (while parsing a flow node at line 2, column 1)",
        f'{bad_key}:3:6: service::x: unsupported reference "${{file:/etc/x}}": unknown provider "file"; '
        f'only "env" is supported',
        f'{bad_key}:1:1: exporter: unknown top-level key "exporter"; did you mean "exporters"?',
    ]


def test_no_files_is_an_error():
    with pytest.raises(ConfigErrors, match="^no config file given$"):
        load_config([])


def test_file_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"receivers: {x: \xe9}\n")
    with pytest.raises(ConfigErrors) as caught:
        load_config([str(path)], env={})
    assert str(caught.value) == f'cannot read config file "{path}": not UTF-8 text (invalid continuation byte)'
