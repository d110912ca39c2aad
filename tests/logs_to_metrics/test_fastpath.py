"""The compiled scanner's own machinery: the series key table, number reading, GIL fallbacks."""

import orjson
import pytest

from collector.connectors.logs_to_metrics import scan_py
from collector.connectors.logs_to_metrics.plan import Plan

from .conftest import TWINS, config

_scan = pytest.importorskip("_fastpath._scan")


@pytest.mark.parametrize("hash_bits", [64, 3, 0])
def test_key_table_keeps_insertion_indices_through_collisions_and_growth(hash_bits):
    """hash_bits 0: every key collides, so lookups rest on the key bytes alone."""
    table = _scan.KeyTable(hash_bits)
    keys = [b"", b"\x00", b"u000007", b"a" * 17] + [b"k%d" % i for i in range(2000)]
    keys = list(dict.fromkeys(keys))
    for i, key in enumerate(keys):
        assert table.add(key) == (i, True)
    for i, key in enumerate(keys):
        assert table.add(key) == (i, False)
    assert len(table) == len(keys) and table.keys() == keys


NUMBERS = ["0", "-0", "-0.0", "1.5", "0.1", "0.3", "123.456", "40.123", "999999999999999", "9999999999999999",
           "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308", "0.000000000000000000001",
           "123456789012345.6", "1234567890123456.7", "18446744073709551615", "18446744073709551616",
           "-9223372036854775808", "3.141592653589793", "1E2", "1e-7", "0.1000000000000000055511151231257827"]


@pytest.mark.parametrize("text", NUMBERS)
def test_numbers_read_as_the_nearest_double(text):
    """The fast decimal path (few digits, no exponent) and strtod read numbers as the twin does:
    orjson's value as a double (so the JSON integer -0 is 0.0, and -0.0 stays negative)."""
    plan = Plan(config("metrics: [{name: g, type: gauge, value: v}]"))
    s = TWINS["c"](plan)
    s.scan(b'{"v":%s}' % text.encode(), None, plan.consts({}, {}), 1)
    last = s.drain()[0][()][2]
    expected = float(orjson.loads(text))
    assert last == expected and str(last) == str(expected)


def run_both(plan, data):
    out = []
    for cls in (scan_py.Scanner, TWINS["c"]):
        s = cls(plan)
        s.scan(data, None, plan.consts({"host": "h"}, {}), 5)
        out.append((s.drain(), s.pop_bad()))
    return out


def test_lines_needing_the_gil_keep_their_place_in_order():
    """Float dimensions go through Python; the gauge's last value shows the order held."""
    plan = Plan(config("metrics: [{name: g, type: gauge, value: v, dimensions: [k]}]"))
    lines = [b'{"k":%s,"v":%d}' % (b"1.5" if i % 3 else b'"1.5"', i) for i in range(3000)]
    py, c = run_both(plan, b"\n".join(lines))
    assert py == c and py[0][0][("1.5",)][:3] == [3000, sum(range(3000)) * 1.0, 2999.0]


def test_resource_dimensions_and_epoch_times():
    plan = Plan(config("""
timestamp: {field: t, format: epoch_ms}
metrics: [{name: c, type: counter, dimensions: [resource.host, k]}, {name: d, type: counter, dimensions: [k]}]
"""))
    data = b'{"t":1,"k":"a"}\n{"t":-0,"k":"b"}\n{"t":1.5,"k":"a"}\n{"t":"x"}\n{"t":9223372036854775807,"k":"c"}'
    py, c = run_both(plan, data)
    assert py == c and py[1] == {"bad_timestamp": 2}
