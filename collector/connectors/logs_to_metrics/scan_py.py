"""The pure-Python scanner: the executable spec of ``_fastpath/_scan.pyx``.

It parses each line with orjson into a dict (duplicate keys: the last one
wins, nested objects included) and applies the rules to it. The compiled
twin must give the same accumulators and the same bad-record counts for
every input; ``tests/logs_to_metrics/test_differential.py`` checks that.

Order of checks per line: empty or blank lines are skipped silently; then
``too_long``, ``invalid_utf8``, ``invalid_json``, ``not_object``, then
``bad_timestamp`` (when a timestamp field is configured). Per rule: the
`where` condition, then the value (``missing_value`` for absent or null,
``wrong_type`` for a non-number, ``negative_value`` for a counter), then
the dimensions (``wrong_type`` for an object or array).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any, Callable, Sequence

import orjson

from collector.connectors.logs_to_metrics.plan import (
    BUCKETS, COUNT, COUNTER, FIRST_NS, LAST, LAST_NS, MAX, MIN, OVERFLOW_KEY, TOTAL,
    TS_EPOCH_MS, TS_EPOCH_NS, TS_EPOCH_S, TS_RFC3339, Plan,
)
from collector.connectors.logs_to_metrics.text_parsers import LineParser
from collector.expr import MISSING

_WHITESPACE = b" \t\r\n"
_SCALE = {TS_EPOCH_S: 1_000_000_000, TS_EPOCH_MS: 1_000_000, TS_EPOCH_NS: 1}
_FLOAT_SCALE = {TS_EPOCH_S: 1e9, TS_EPOCH_MS: 1e6, TS_EPOCH_NS: 1.0}
_RFC3339 = re.compile(
    rb"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,32}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_INT64_LIMIT = 1 << 63


class Scanner:
    """Accumulates one flush interval of records; ``drain`` hands the interval over."""

    def __init__(self, plan: Plan, parse_text: LineParser | None = None, *, bad_records: bool = False) -> None:
        """``parse_text`` reads non-JSON lines (logfmt, regex); None reads JSON.

        ``bad_records``: also note which records were bad (for a dead-letter
        output); see :meth:`pop_bad_records`.
        """
        self.plan = plan
        self.parse_text = parse_text
        self.bad: dict[str, int] = {}
        self.bad_records: list[tuple[int, str]] | None = [] if bad_records else None
        self._index = 0
        self.series: list[dict[tuple, list]] = [{} for _ in plan.rules]
        #: asked (rule index, key) for each key new to the interval: False folds it into the overflow series
        self.admit: Callable[[int, tuple], bool] | None = None

    def scan(self, data: bytes | memoryview, ends: Sequence[int] | None, consts: Sequence[Any], now_ns: int) -> int:
        """Apply the rules to every line of ``data`` (bytes or a buffer); returns the number of records seen."""
        data = bytes(data)  # no copy when it is bytes already
        lines = data.split(b"\n") if ends is None else _split(data, ends)
        if self.bad_records is not None:
            self.bad_records = []
        for self._index, line in enumerate(lines):
            self.scan_line(line, consts, now_ns)
        return len(lines)

    def scan_line(self, line: bytes, consts: Sequence[Any], now_ns: int) -> None:
        if not line.strip(_WHITESPACE):
            return
        if len(line) > self.plan.max_line_bytes:
            return self.count("too_long")
        if self.parse_text is not None:
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                return self.count("invalid_utf8")
            parsed = self.parse_text(text)
            if parsed is None:
                return self.count("no_match")
            return self.apply(parsed, consts, now_ns)
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return self.count("invalid_utf8")
            return self.count("invalid_json")
        if type(record) is not dict:
            return self.count("not_object")
        self.apply(record, consts, now_ns)

    def apply(self, record: dict, consts: Sequence[Any], now_ns: int) -> None:
        """Apply the rules to one parsed record (also used for logfmt, regex and OTLP bodies)."""
        plan = self.plan
        row = list(consts)
        for slot, keys in plan.body_slots:
            value: Any = record
            for key in keys:
                if type(value) is not dict:
                    value = MISSING
                    break
                value = value.get(key, MISSING)
            row[slot] = value
        ts = now_ns
        if plan.ts_slot >= 0:
            ts = timestamp_ns(row[plan.ts_slot], plan.ts_format)
            if ts is None:
                return self.count("bad_timestamp")
        for r, (rule, series) in enumerate(zip(plan.rules, self.series)):
            if rule.where is not None and not rule.where(row):
                continue
            value = 1.0
            if rule.value_slot >= 0:
                value = row[rule.value_slot]
                if value is MISSING or value is None:
                    self.count("missing_value")
                    continue
                if type(value) is not int and type(value) is not float:
                    self.count("wrong_type")
                    continue
                value = float(value)
                if rule.kind == COUNTER and value < 0:
                    self.count("negative_value")
                    continue
            key = dimension_key(row, rule.dim_slots, rule.dim_defaults, rule.dim_skip)
            if key is None:
                continue
            if key is False:
                self.count("wrong_type")
                continue
            acc = series.get(key)
            if acc is None:
                if self.admit is not None and not self.admit(r, key):
                    key = OVERFLOW_KEY
                    acc = series.get(key)
                if acc is None:
                    acc = series[key] = plan.new_acc(rule)
                    acc[FIRST_NS] = ts
            update(acc, rule.kind, rule.bounds, value, ts)

    def count(self, reason: str) -> None:
        self.bad[reason] = self.bad.get(reason, 0) + 1
        noted = self.bad_records
        if noted is not None and (not noted or noted[-1][0] != self._index):
            noted.append((self._index, reason))

    def pop_bad_records(self) -> list[tuple[int, str]]:
        """(index, first reason) of each bad record of the last :meth:`scan`, by index.

        Only with ``bad_records=True``. Records that :meth:`apply` reads
        directly are noted under the index of the last scanned line: pop
        before and after such a call.
        """
        noted = self.bad_records
        if noted is None:
            return []
        self.bad_records = []
        return noted

    def pop_bad(self) -> dict[str, int]:
        """Bad-record counts since the last call, by reason."""
        bad, self.bad = self.bad, {}
        return bad

    def drain(self) -> list[dict[tuple, list]]:
        """The interval's accumulators per rule, keyed by dimension values; starts a new interval."""
        series, self.series = self.series, [{} for _ in self.plan.rules]
        return series


def update(acc: list, kind: int, bounds: tuple[float, ...], value: float, ts: int) -> None:
    acc[COUNT] += 1
    acc[TOTAL] += value
    acc[LAST] = value
    if value < acc[MIN]:
        acc[MIN] = value
    if value > acc[MAX]:
        acc[MAX] = value
    acc[LAST_NS] = ts
    if bounds:
        acc[BUCKETS + bisect_left(bounds, value)] += 1


def dimension_key(row: Sequence[Any], slots: tuple[int, ...], defaults: tuple, skip: tuple) -> tuple | None | bool:
    """Canonical string values (None: attribute omitted); None to skip the record, False if a value is not scalar."""
    key = []
    for slot, default, skip_missing in zip(slots, defaults, skip):
        value = row[slot]
        if value is MISSING or value is None:
            if default is not None:
                key.append(default)
            elif skip_missing:
                return None
            else:
                key.append(None)
        else:
            text = dimension_text(value)
            if text is None:
                return False
            key.append(text)
    return tuple(key)


def dimension_text(value: Any) -> str | None:
    """Attribute values are strings: numbers as Python writes them, booleans as JSON does."""
    t = type(value)
    if t is str:
        return value
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return str(value)
    if t is float:
        return repr(value)
    return None


def timestamp_ns(value: Any, fmt: int) -> int | None:
    """Nanoseconds since the epoch, or None when the value does not fit the format or int64."""
    if fmt == TS_RFC3339:
        ns = rfc3339_ns(value.encode()) if type(value) is str else None
    elif type(value) is int:
        ns = value * _SCALE[fmt]
    elif type(value) is float:
        scaled = value * _FLOAT_SCALE[fmt]
        ns = int(scaled) if 0.0 <= scaled < 9223372036854775808.0 else None
    else:
        ns = None
    return ns if ns is not None and 0 <= ns < _INT64_LIMIT else None


def rfc3339_ns(text: bytes) -> int | None:
    m = _RFC3339.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month) and hour < 24 and minute < 60 and second < 60):
        return None
    frac = (m.group(7) or b"")[:9].ljust(9, b"0")
    offset = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11))
        if oh >= 24 or om >= 60:
            return None
        offset = (oh * 60 + om) * 60 * (1 if m.group(9) == b"+" else -1)
    seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    return seconds * 1_000_000_000 + int(frac)


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 (Howard Hinnant's algorithm; the compiled twin uses the same)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(y: int, m: int) -> int:
    if m == 2:
        return 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _split(data: bytes, ends: Sequence[int]) -> list[bytes]:
    out, start = [], 0
    for end in ends:
        out.append(data[start:end])
        start = end
    return out
