"""Scanner behaviour, each case run over both twins (ids ``py`` and ``c``)."""

import os

import pytest

import _fastpath
from collector.connectors.logs_to_metrics.plan import Plan

from .conftest import config

RULES = config("""
timestamp: {field: t, format: epoch_s}
metrics:
  - {name: c, type: counter, dimensions: [s, {field: n.k, on_missing: skip}, {name: d, field: x, default: "-"}]}
  - {name: h, type: histogram, value: v, buckets: [1, 10], dimensions: [s], where: 'exists(v) and lvl in ["e", "w"]'}
  - {name: g, type: gauge, value: v, dimensions: ['body["a.b"]'], where: exists(v)}
""")


def run(scanner_class, lines, ends=None, consts=None):
    plan = Plan(RULES)
    s = scanner_class(plan)
    data = lines if isinstance(lines, (bytes, memoryview)) else b"\n".join(lines)
    s.scan(data, ends, consts or plan.consts({}, {}), 7)
    return s.drain(), s.pop_bad()


def test_compiled_module_loaded_where_built():
    """The guard: a build that produced the extension must use it."""
    built = any(f.startswith("_scan.") and f.endswith((".so", ".pyd")) for f in os.listdir(os.path.dirname(_fastpath.__file__)))
    if os.environ.get("FATHOM_REQUIRE_EXTENSIONS") or (built and not _fastpath.NO_EXTENSIONS):
        assert _fastpath.COMPILED, "the compiled fast path was built but did not load"


@pytest.mark.parametrize(
    "line, reason, n",
    [
        (b'{"a":1', "invalid_json", 1),
        (b'{"s":"\xff"}', "invalid_utf8", 1),
        (b'{"s":"\xed\xa0\x80"}', "invalid_utf8", 1),
        (b'{"s":"\\ud800"}', "invalid_json", 1),
        (b'{"s":"\\udc00\\ud800"}', "invalid_json", 1),
        (b'{"v":1e400}', "invalid_json", 1),
        (b'{"v":01}', "invalid_json", 1),
        (b'{"v":[1,]}', "invalid_json", 1),
        (b'{"a":1}{}', "invalid_json", 1),
        (b'\xef\xbb\xbf{}', "invalid_json", 1),
        (b'{"s":"a\x01"}', "invalid_json", 1),
        (b"[" * 1025 + b"]" * 1025, "invalid_json", 1),
        (b'"text"', "not_object", 1),
        (b'{"t":-1}', "bad_timestamp", 1),
        (b'{"t":"1"}', "bad_timestamp", 1),
        (b'{"t":1e300}', "bad_timestamp", 1),
        (b'{"t":1,"v":"x","lvl":"e"}', "wrong_type", 2),  # per rule: h and g
        (b'{"t":1,"s":{}}', "wrong_type", 1),
        (b'{"t":1,"v":null,"lvl":"e"}', "missing_value", 2),
    ],
)
def test_bad_lines_are_counted_by_reason(scanner_class, line, reason, n):
    _, bad = run(scanner_class, [line, b'{"t":1,"s":"ok"}'])
    assert bad == {reason: n}


def test_values_and_keys(scanner_class):
    series, bad = run(scanner_class, [
        b'{"t":1,"s":"a","n":{"k":1},"x":true,"v":5,"lvl":"e","a.b":"z"}',
        b'{"t":2.5,"s":"a","n":{"k":1},"n":{"j":2},"v":50,"lvl":"w"}',  # repeated n: the last wins
        b'{"t":3,"s":"\\u00e9\\"","n":{"k":-0},"x":1.50,"v":-1,"lvl":"i"}',
        b'{"t":4,"s":"a","n":{"k":18446744073709551616},"x":null,"a":{"b":1}}',
        b"   ", b"",
    ])
    c, h, g = series
    assert c == {
        ("a", "1", "true"): [1, 1.0, 1.0, 1.0, 1.0, 1_000_000_000, 1_000_000_000],
        ('é"', "0", "1.5"): [1, 1.0, 1.0, 1.0, 1.0, 3_000_000_000, 3_000_000_000],
        ("a", "1.8446744073709552e+19", "-"): [1, 1.0, 1.0, 1.0, 1.0, 4_000_000_000, 4_000_000_000],
    }
    assert h == {("a",): [2, 55.0, 50.0, 5.0, 50.0, 1_000_000_000, 2_500_000_000, 0, 1, 1]}
    assert g == {("z",): [1, 5.0, 5.0, 5.0, 5.0, 1_000_000_000, 1_000_000_000],
                 (None,): [2, 49.0, -1.0, -1.0, 50.0, 2_500_000_000, 3_000_000_000]}
    assert bad == {}


def test_explicit_record_ends_and_constants(scanner_class):
    plan = Plan(config("metrics: [{name: c, type: counter, dimensions: [resource.host, s]}]"))
    s = scanner_class(plan)
    data = b'{"s":\n"a"}{"s":"b"}'
    s.scan(data, [10, len(data)], plan.consts({"host": "h1"}, {}), 1)
    assert s.drain() == [{("h1", "a"): [1, 1.0, 1.0, 1.0, 1.0, 1, 1], ("h1", "b"): [1, 1.0, 1.0, 1.0, 1.0, 1, 1]}]


def test_too_long(scanner_class):
    plan = Plan(config("{max_line_bytes: 10, metrics: [{name: c, type: counter}]}"))
    s = scanner_class(plan)
    s.scan(b'{"a":"0123456789"}\n{}', None, plan.consts({}, {}), 1)
    assert s.pop_bad() == {"too_long": 1} and s.drain()[0][()][0] == 1


def test_bad_records_are_noted_with_their_first_reason(scanner_class):
    plan = Plan(RULES)
    lines = [b'{"t":1,"s":"ok"}', b"{oops", b"", b'{"t":1,"v":"x","lvl":"e","s":{}}', b'{"t":"x"}', b'{"t":1}']
    quiet, noting = scanner_class(plan), scanner_class(plan, bad_records=True)
    for s in (quiet, noting):
        s.scan(b"\n".join(lines), None, plan.consts({}, {}), 7)
    assert quiet.pop_bad_records() == []  # not asked for: nothing kept
    # wrong_type three times (c's dimension s, h's and g's value), one record noted, with the first of them
    assert noting.pop_bad_records() == [(1, "invalid_json"), (3, "wrong_type"), (4, "bad_timestamp")]
    assert noting.pop_bad_records() == []
    assert quiet.pop_bad() == noting.pop_bad() == {"invalid_json": 1, "wrong_type": 3, "bad_timestamp": 1}


def test_a_buffer_view_scans_as_its_bytes(scanner_class):
    """A replay hands views of its read buffers, not copies: same accumulators and counts as from bytes."""
    data = b'{"s":"a","t":1,"v":2,"lvl":"e"}\n{"s":"b","t":2}\n{oops\n{"s":"a","t":3,"v":20,"lvl":"w"}\nJUNK'
    view = memoryview(bytearray(data))[:-5]
    assert run(scanner_class, view) == run(scanner_class, data[:-5])
