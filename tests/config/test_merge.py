"""Several files merge in order, like the OpenTelemetry Collector's confmap."""

from collector.config import Position, load_config

BASE = """\
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:4317"}
      http: {endpoint: "127.0.0.1:4318"}
exporters:
  debug: {verbosity: basic}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [debug]}
"""

OVERRIDE = """\
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "0.0.0.0:4317"}
exporters:
  debug: detailed
service:
  pipelines:
    logs: {exporters: [debug, otlp]}
"""


def load(tmp_path, *texts):
    paths = []
    for index, text in enumerate(texts):
        path = tmp_path / f"{index}.yaml"
        path.write_text(text)
        paths.append(str(path))
    return load_config(paths, env={}), paths


def test_mappings_merge_deeply_and_later_scalars_and_lists_replace(tmp_path):
    loaded, _ = load(tmp_path, BASE, OVERRIDE)
    assert loaded.data == {
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "127.0.0.1:4318"}}}
        },
        "exporters": {"debug": "detailed"},
        "service": {"pipelines": {"logs": {"receivers": ["otlp"], "exporters": ["debug", "otlp"]}}},
    }


def test_order_decides_the_winner(tmp_path):
    loaded, _ = load(tmp_path, OVERRIDE, BASE)
    assert loaded.data["exporters"] == {"debug": {"verbosity": "basic"}}
    assert loaded.data["service"]["pipelines"]["logs"]["exporters"] == ["debug"]


def test_positions_follow_the_winning_value(tmp_path):
    loaded, (base, override) = load(tmp_path, BASE, OVERRIDE)
    assert loaded.files == [base, override]
    grpc = ("receivers", "otlp", "protocols", "grpc", "endpoint")
    http = ("receivers", "otlp", "protocols", "http", "endpoint")
    assert loaded.positions[grpc] == Position(override, 4, 14)
    assert loaded.positions[http] == Position(base, 5, 14)
    assert loaded.positions[("exporters", "debug")] == Position(override, 6, 3)
    assert ("exporters", "debug", "verbosity") not in loaded.positions
    exporters = ("service", "pipelines", "logs", "exporters")
    assert loaded.positions[exporters + (1,)] == Position(override, 9, 31)
    assert loaded.positions[("service", "pipelines", "logs", "receivers", 0)] == Position(base, 10, 24)
    # a mapping both files define keeps the position where it first appeared
    assert loaded.positions[("receivers",)] == Position(base, 1, 1)


def test_a_list_shrinks_and_its_stale_item_positions_go(tmp_path):
    loaded, (_, override) = load(tmp_path, "exporters:\n  x: [a, b, c]\n", "exporters:\n  x: [z]\n")
    assert loaded.data["exporters"]["x"] == ["z"]
    assert [p for p in loaded.positions if p[:2] == ("exporters", "x")] == [("exporters", "x"), ("exporters", "x", 0)]
    assert loaded.positions[("exporters", "x", 0)] == Position(override, 2, 7)


def test_null_replaces_and_empty_file_changes_nothing(tmp_path):
    loaded, _ = load(tmp_path, BASE, "exporters:\n  debug:\n", "")
    assert loaded.data["exporters"] == {"debug": None}
    assert loaded.data["receivers"]["otlp"]["protocols"]["http"] == {"endpoint": "127.0.0.1:4318"}


def test_expanded_text_follows_the_winning_value(tmp_path):
    first = "exporters:\n  a: ${env:X:-1}\n  b: ${env:X:-2}\n"
    loaded, _ = load(tmp_path, first, "exporters:\n  a: 3\n")
    assert loaded.data["exporters"] == {"a": 3, "b": 2}
    assert loaded.references == {("exporters", "b"): "${env:X:-2}"}
