"""Both scanners fed the same random and mutated lines must agree exactly: accumulators and bad counts.

Which records were bad, with their first reason, must agree too (the
dead-letter output sends them on).

Duplicate keys: the last one wins (orjson's rule, matched by the compiled twin).
Two plans: ``PLAN`` has `where` conditions, so the compiled twin applies every
line with the GIL; ``FAST_PLAN`` has none, so it applies lines without the GIL
and falls back line by line (float dimensions, timestamps it cannot read); ``FAST_TIMED_PLAN``
reads times from the records.
"""

import json
import os
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from collector.connectors.logs_to_metrics import scan_py
from collector.connectors.logs_to_metrics.plan import Plan

from .conftest import TWINS, config

pytestmark = pytest.mark.skipif(TWINS["c"] is None, reason="compiled scanner not built")

PLAN = Plan(config("""
timestamp: {field: t, format: epoch_ms}
metrics:
  - {name: c, type: counter, dimensions: [k, {field: n.k, on_missing: skip}, {field: 'body["a.b"]', default: "-"}]}
  - {name: s, type: counter, value: v, dimensions: [k]}
  - {name: h, type: histogram, value: v, buckets: [-1, 0, 1.5, 1e10], dimensions: [n.k],
     where: 'k matches "^[a-z]" or n.k > 0 or exists(u)'}
  - {name: g, type: gauge, value: n.v, dimensions: [k], where: 'k in ["a", "é", 1, true, null] and not k == false'}
"""))

FAST_PLAN = Plan(config("""
metrics:
  - {name: c, type: counter, dimensions: [k, {field: n.k, on_missing: skip}, {field: 'body["a.b"]', default: "-"}]}
  - {name: s, type: counter, value: v, dimensions: [k]}
  - {name: h, type: histogram, value: v, buckets: [-1, 0, 1.5, 1e10], dimensions: [n.k, u]}
  - {name: g, type: gauge, value: n.v, dimensions: [k, {field: u, default: "é"}]}
"""))
FAST_TIMED_PLAN = Plan(config("""
timestamp: {field: t, format: epoch_s}
metrics: [{name: c, type: counter, dimensions: [k]}, {name: s, type: counter, value: t, dimensions: [u]}]
"""))
PLANS = [PLAN, FAST_PLAN, FAST_TIMED_PLAN]

KEYS = ["k", "v", "t", "n", "u", "a.b", "a", "b", "\u00e9", "k\\"]
edge_numbers = st.sampled_from([0, -0.0, 1, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, 1e308, 5e-324,
                                1.5, 1e10, 1e-7, 123456789012345678901234567890])
scalars = st.one_of(
    st.none(), st.booleans(), edge_numbers, st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6), st.sampled_from(["a", "é", "\x00", "\u2028", "😀", '"', "\\"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=8)
records = st.dictionaries(st.sampled_from(KEYS), values, max_size=7)


def encode(record, style):
    separators = [(",", ":"), None, (", ", " : ")][style]
    return json.dumps(record, ensure_ascii=(style == 1), separators=separators).encode()


def drop_or_insert(line: bytes, data, op: int, insertions: list[bytes]) -> bytes:
    """Op 1 drops a byte of a non-empty line at a drawn place; op 2 inserts one of ``insertions`` there."""
    i = data.draw(st.integers(0, len(line) - 1))
    if op == 1:
        return line[:i] + line[i + 1:]
    return line[:i] + data.draw(st.sampled_from(insertions)) + line[i:]


def mutate(line: bytes, data) -> bytes:
    op = data.draw(st.integers(0, 7))
    if op == 0 or not line:
        return line
    if op in (1, 2):
        return drop_or_insert(line, data, op, [b'"', b"\\", b"\xff", b"\xed\xa0\x80", b"\\ud800", b"\\udc00", b",", b"}",
                                               b"{", b"1e999", b"-", b"\x01", b" ", b"\\u00"])
    i = data.draw(st.integers(0, len(line) - 1))
    if op == 3:  # a duplicate key replaces the first
        return line[:-1] + b',"k":{"x":1},"n":2}' if line.endswith(b"}") else line
    if op == 4:
        return line.replace(b'"k"', b'"\\u006b"')
    if op == 5:
        return b"[" * 1030 + b"]" * 1030 if i % 2 else b'{"k":' * 1024 + b"1" + b"}" * 1024
    return line


def run(cls, data, ends, plan=PLAN):
    """Accumulators, bad counts and the bad records (index, first reason), noted for a dead-letter output."""
    s = cls(plan, bad_records=True)
    s.scan(data, ends, plan.consts({}, {}), 42)
    return s.drain(), s.pop_bad(), s.pop_bad_records()


def same(a, b):
    """Equal, with floats compared bit for bit (and nan-free by construction)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=int(os.environ.get("FATHOM_FUZZ_EXAMPLES", 40)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(records, st.integers(0, 2)), min_size=1, max_size=12), st.data(), st.booleans())
def test_json_twins_agree(lines, data, explicit_ends):
    encoded = [mutate(encode(r, style), data) for r, style in lines]
    buf = b"\n".join(encoded)
    ends = None
    if explicit_ends:
        ends, pos = [], 0
        for line in encoded:
            pos += len(line) + 1
            ends.append(min(pos, len(buf)))
    for plan in PLANS:
        py, c = run(scan_py.Scanner, buf, ends, plan), run(TWINS["c"], buf, ends, plan)
        assert same(py, c), (py, c)


@settings(max_examples=int(os.environ.get("FATHOM_FUZZ_EXAMPLES", 40)), deadline=None)
@given(st.binary(max_size=80))
def test_arbitrary_bytes_agree(blob):
    for plan in PLANS:
        assert same(run(scan_py.Scanner, blob, None, plan), run(TWINS["c"], blob, None, plan))


@settings(max_examples=int(os.environ.get("FATHOM_FUZZ_EXAMPLES", 40)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(KEYS + ["kk", "K", "k\u0000"]), min_size=1, max_size=6),
       st.lists(st.lists(values, min_size=6, max_size=6), min_size=2, max_size=10), st.data())
def test_repeated_key_layouts_agree(keys, rows, data):
    """Lines with their keys in the same order, as logs have them: the compiled scanner matches a key
    against the one at the same position in an earlier line, so mutated keys must still be read right."""
    encoded = [mutate(encode(dict(zip(keys, row)), data.draw(st.integers(0, 2))), data) for row in rows]
    buf = b"\n".join(encoded)
    for plan in PLANS:
        assert same(run(scan_py.Scanner, buf, None, plan), run(TWINS["c"], buf, None, plan))


# --- logfmt: the compiled parser against text_parsers.parse_logfmt ---------------------------------

LOGFMT_PLAN = Plan(config("""
parser: logfmt
metrics:
  - {name: c, type: counter, dimensions: [k, {field: 'body["a.b"]', default: "-"}, {field: u, on_missing: skip}]}
  - {name: s, type: counter, value: v, dimensions: [k]}
  - {name: h, type: histogram, value: v, buckets: [-1, 0, 1.5], dimensions: [u], where: 'k matches "^[a-z]" or exists(u)'}
  - {name: g, type: gauge, value: v, dimensions: [{field: 'body["é"]', default: none}]}
"""))
LOGFMT_FAST_PLAN = Plan(config("""
parser: logfmt
metrics: [{name: c, type: counter, dimensions: [k, u]}, {name: s, type: counter, value: v, dimensions: [k, 'body["é"]']}]
"""))

logfmt_keys = st.sampled_from(["k", "v", "u", "a.b", "é", "a", "k\u00e9", "x=y"])
logfmt_spaces = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u2028", "\x1c", "\x0b", "\u3000", "\u2009", "\r"])
logfmt_bare = st.one_of(
    st.sampled_from(["", "true", "false", "0", "-0", "01", "1.5", "1e999", "1E2", "-", "18446744073709551616",
                     "2.5e-3", "12abc", "null", "é", "a=b", "\\n"]),
    st.integers().map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters='"'), max_size=4),
)
logfmt_quoted = st.lists(st.sampled_from(["a", " ", "\\\"", "\\\\", "\\n", "\\t", "\\x", "é", "=", "\u00a0", "\\é"]),
                         max_size=5).map(lambda parts: '"' + "".join(parts) + '"')
logfmt_pairs = st.lists(st.tuples(logfmt_keys, st.one_of(st.none(), logfmt_bare, logfmt_quoted), logfmt_spaces),
                        min_size=1, max_size=6)


def logfmt_line(pairs) -> str:
    return "".join(key + ("" if value is None else "=" + value) + space for key, value, space in pairs)


def mutate_logfmt(line: bytes, data) -> bytes:
    op = data.draw(st.integers(0, 5))
    if op not in (1, 2) or not line:
        return line
    return drop_or_insert(line, data, op, [b'"', b"\\", b"\xff", b"\xed\xa0\x80", b"=", b" ", b"\xc2"])


def logfmt_run(compiled: bool, data: bytes, plan: Plan):
    from collector.connectors.logs_to_metrics.text_parsers import parse_logfmt

    s = TWINS["c"](plan, bad_records=True, syntax="logfmt") if compiled else scan_py.Scanner(plan, parse_logfmt,
                                                                                             bad_records=True)
    s.scan(data, None, plan.consts({}, {}), 42)
    return s.drain(), s.pop_bad(), s.pop_bad_records()


@settings(max_examples=int(os.environ.get("FATHOM_FUZZ_EXAMPLES", 40)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(logfmt_pairs, min_size=1, max_size=10), st.data())
def test_logfmt_twins_agree(lines, data):
    buf = b"\n".join(mutate_logfmt(logfmt_line(pairs).encode("utf-8", "surrogatepass"), data) for pairs in lines)
    for plan in (LOGFMT_PLAN, LOGFMT_FAST_PLAN):
        py, c = logfmt_run(False, buf, plan), logfmt_run(True, buf, plan)
        assert same(py, c), (buf, py, c)


@settings(max_examples=int(os.environ.get("FATHOM_FUZZ_EXAMPLES", 40)), deadline=None)
@given(st.binary(max_size=60))
def test_logfmt_arbitrary_bytes_agree(blob):
    for plan in (LOGFMT_PLAN, LOGFMT_FAST_PLAN):
        assert same(logfmt_run(False, blob, plan), logfmt_run(True, blob, plan))
