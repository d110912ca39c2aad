"""Fuzz targets: each takes arbitrary bytes and must neither crash, hang nor raise an unexpected type.

A target returns normally for any input; it may raise only the exception
types its parser documents for bad input (``allowed``), which the harness
swallows. Anything else, a disagreement between the JSON twins, or a
timeout is a finding. Inputs are bounded by the harness (``-max_len``), so
memory stays bounded too.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import yaml
from google.protobuf.message import DecodeError

from collector.config import ConfigErrors, load_config_text
from collector.connectors.logs_to_metrics import scan_py
from collector.connectors.logs_to_metrics.config import Config
from collector.connectors.logs_to_metrics.plan import Plan
from collector.connectors.logs_to_metrics.text_parsers import parse_logfmt, regex_parser
from collector.emf import read_line
from collector.pdata.otlp import WIRES, from_json
from receivers.filelog.container import ContainerLines
from receivers.lines import Lines
from receivers.otlp.httpserver import _Refused, decompress

try:
    from _fastpath._scan import JsonScanner
except ImportError:  # the differential target then checks the Python twin alone
    JsonScanner = None


@dataclass(frozen=True)
class Target:
    run: Callable[[bytes], None]
    #: exception types that are the target's documented answer to bad input
    allowed: tuple[type[BaseException], ...] = ()

    def __call__(self, data: bytes) -> None:
        try:
            self.run(data)
        except self.allowed:
            pass


def _plan(text: str) -> Plan:
    return Plan(Config.model_validate(yaml.safe_load(text)))


# Rules that touch every reading path: counters, sums, histograms, gauges, conditions, timestamps, defaults.
_RULES = """
metrics:
  - {name: c, type: counter, dimensions: [k, {field: n.k, on_missing: skip}, {field: 'body["a.b"]', default: "-"}]}
  - {name: s, type: counter, value: v, dimensions: [k]}
  - {name: h, type: histogram, value: v, buckets: [-1, 0, 1.5, 1e10], dimensions: [n.k, u]}
  - {name: g, type: gauge, value: n.v, dimensions: [k], where: 'k matches "^[a-z]" or v > 0 or exists(u)'}
"""
_JSON_PLANS = [_plan(_RULES), _plan("timestamp: {field: t, format: epoch_ms}\n" + _RULES),
               _plan("metrics: [{name: c, type: counter, dimensions: [k]}, {name: s, type: counter, value: v}]")]
_LOGFMT_PLAN = _plan("parser: logfmt\ntimestamp: {field: t, format: rfc3339}\n" + _RULES)
_REGEX_PLAN = _plan(r"""
parser: regex
pattern: '^(?P<k>\w+) (?P<v>-?[\d.e+]+)(?: (?P<u>\S+))?'
metrics: [{name: s, type: counter, value: v, dimensions: [k, u]}, {name: h, type: histogram, value: v, buckets: [1]}]
""")


def _scan(scanner_class: type, plan: Plan, data: bytes, *parser: Callable[[str], object]) -> tuple:
    scanner = scanner_class(plan, *parser)
    scanner.scan(data, None, plan.consts({}, {}), 1_700_000_000_000_000_000)
    return scanner.drain(), scanner.pop_bad()


def _canonical(value: object) -> object:
    """Order-free and bit-exact: dicts as sorted items, floats by their hex form (so -0.0 != 0.0)."""
    if isinstance(value, dict):
        return sorted((repr(k), _canonical(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, *map(_canonical, value)]
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


def json_scanner(data: bytes) -> None:
    """Both twins on the same buffer must agree exactly (the compiled one has no Python coverage)."""
    for plan in _JSON_PLANS:
        python = _scan(scan_py.Scanner, plan, data)
        if JsonScanner is not None:
            compiled = _scan(JsonScanner, plan, data)
            if _canonical(python) != _canonical(compiled):
                raise AssertionError(f"the JSON twins disagree:\npy {python!r}\nc  {compiled!r}")


def logfmt_scanner(data: bytes) -> None:
    _scan(scan_py.Scanner, _LOGFMT_PLAN, data, parse_logfmt)


def regex_scanner(data: bytes) -> None:
    assert _REGEX_PLAN.config.pattern is not None
    _scan(scan_py.Scanner, _REGEX_PLAN, data, regex_parser(_REGEX_PLAN.config.pattern))


def emf_line(data: bytes) -> None:
    event, problems = read_line(data)
    if event is None and not problems:
        raise AssertionError("read_line refused a line without saying why")


_CODINGS = ("", "gzip", "deflate", "identity")


def otlp_protobuf(data: bytes) -> None:
    """The receivers' path: undo a content coding within a bound, parse, count the items."""
    if not data:
        return
    coding = _CODINGS[data[0] % len(_CODINGS)]
    body = data[1:]
    if coding in ("gzip", "deflate"):  # compress the fuzzed bytes, so the decoder sees a valid stream too
        wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
        packer = zlib.compressobj(1, zlib.DEFLATED, wbits)
        body = packer.compress(body) + packer.flush() if data[0] & 0x80 else body
    try:
        body = decompress(body, coding, 1 << 20)
    except _Refused:
        return
    for wire in WIRES.values():
        try:
            msg = wire.request.FromString(body)
        except DecodeError:
            continue
        wire.batch(msg, body).item_count()


def otlp_json(data: bytes) -> None:
    for wire in WIRES.values():
        try:
            msg = from_json(wire.request, data)
        except ValueError:
            continue
        wire.batch(msg).item_count()


def container_lines(data: bytes) -> None:
    lines = ContainerLines()
    for block in data.split(b"\n\n"):  # several blocks, so partial lines carry over
        lines.add(Lines(block, block.count(b"\n") + 1))
    lines.flush()


def config_text(data: bytes) -> None:
    load_config_text(data.decode("utf-8", "replace"), "fuzz.yaml", env={"HOME": "/home/x", "EMPTY": ""})


TARGETS: dict[str, Target] = {
    "json_scanner": Target(json_scanner),
    "logfmt_scanner": Target(logfmt_scanner),
    "regex_scanner": Target(regex_scanner),
    "emf_line": Target(emf_line),
    "otlp_protobuf": Target(otlp_protobuf),
    "otlp_json": Target(otlp_json),
    "container_lines": Target(container_lines),
    "config_text": Target(config_text, allowed=(ConfigErrors,)),
}
