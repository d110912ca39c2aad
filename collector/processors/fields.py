"""What a path of the condition language (:mod:`collector.expr`) reads on a log record, a span or a metric point.

One reading of paths for every component that evaluates conditions or
reads key fields (``filter``, ``transform``, ``top_contributors``):

* ``resource.<name>`` and ``attributes.<name>`` read the resource and the
  item's own attributes (a log record's, a span's, a data point's);
* on a **log record**, ``record.<field>`` reads the record's own OTLP
  fields (an extra root of the condition language, so it never shadows a
  body key: a body key ``record`` is ``body.record``): ``severity_text``,
  ``severity_number``, ``time_unix_nano``, ``observed_time_unix_nano``,
  ``trace_id``, ``span_id`` (lower-case hex), ``flags``,
  ``dropped_attributes_count``, ``event_name``, with OTLP's zero values when
  unset; a raw line has none of them (they are missing). Other paths walk
  the body, as in ``logs_to_metrics``: a map body is read as it is; a string
  or bytes body holding a JSON object is parsed (once per record); any other
  body is only reachable as ``body``;
* on a **span**, other paths name span fields: ``name``, ``kind``
  (``server``, ``client``, ``internal``, ``producer``, ``consumer``,
  ``unspecified``), ``status.code`` (``unset``, ``ok``, ``error``),
  ``status.message``, ``duration_ms``, ``trace_id``, ``span_id``,
  ``parent_span_id`` (lower-case hex);
* on a **metric point**, other paths name metric and point fields: ``name``,
  ``type`` (``gauge``, ``sum``, ``histogram``, ``exponential_histogram``,
  ``summary``), ``unit``, ``description``, ``value`` (gauges and sums),
  ``count`` and ``sum`` (histograms and summaries).

A ``record`` path naming no such field, or a span or point path naming no
such field, is rejected at config load (:func:`expression`, :func:`path`,
:func:`check`), with the column of the offending path.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import orjson

from collector.component import Signal
from collector.expr import MISSING, Expression, ExpressionError, Path, parse_path
from collector.pdata.anyvalue import attributes_from_proto, from_anyvalue

_SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_STATUS = ("unset", "ok", "error")


class LogItem:
    """A log record as conditions see it; attributes and body are decoded on first use.

    Built from an OTLP record (``record``) or from a raw line (``line``, parsed
    at once: a line is read for its fields) and the attributes of its chunk.
    """

    __slots__ = ("resource", "record", "line", "_attributes", "_body")

    def __init__(self, resource: Mapping[str, Any], record: Any = None, line: bytes | None = None,
                 attributes: Mapping[str, Any] | None = None) -> None:
        self.resource = resource
        self.record = record
        self.line = line
        self._attributes = attributes
        self._body: Any = MISSING if line is None else _parse_body(line)

    @property
    def attributes(self) -> Mapping[str, Any]:
        if self._attributes is None:
            self._attributes = attributes_from_proto(self.record.attributes) if self.record is not None else {}
        return self._attributes

    @property
    def body(self) -> Any:
        if self._body is MISSING:
            self._body = _parse_body(from_anyvalue(self.record.body)) if self.record is not None else None
        return self._body


def _parse_body(raw: Any) -> Any:
    if isinstance(raw, (str, bytes)) and raw[:1] in ("{", b"{"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return raw


class SpanItem:
    __slots__ = ("resource", "span", "_attributes")

    def __init__(self, resource: Mapping[str, Any], span: Any) -> None:
        self.resource = resource
        self.span = span
        self._attributes: Mapping[str, Any] | None = None

    @property
    def attributes(self) -> Mapping[str, Any]:
        if self._attributes is None:
            self._attributes = attributes_from_proto(self.span.attributes)
        return self._attributes


class PointItem:
    """A data point with its metric; ``attributes`` are the point's."""

    __slots__ = ("resource", "metric", "point")

    def __init__(self, resource: Mapping[str, Any], metric: Any, point: Any) -> None:
        self.resource = resource
        self.metric = metric
        self.point = point

    @property
    def attributes(self) -> Mapping[str, Any]:
        return self.point.attributes


def _enum(names: tuple[str, ...], i: int) -> str:
    return names[i] if 0 <= i < len(names) else str(i)


_SPAN_FIELDS: dict[tuple[str, ...], Callable[[Any], Any]] = {
    ("name",): lambda s: s.name,
    ("kind",): lambda s: _enum(_SPAN_KINDS, s.kind),
    ("status", "code"): lambda s: _enum(_STATUS, s.status.code),
    ("status", "message"): lambda s: s.status.message,
    ("duration_ms",): lambda s: (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6,
    ("trace_id",): lambda s: s.trace_id.hex(),
    ("span_id",): lambda s: s.span_id.hex(),
    ("parent_span_id",): lambda s: s.parent_span_id.hex(),
}


#: A log record's own fields, under the extra root ``record``.
RECORD = "record"
_RECORD_FIELDS: dict[tuple[str, ...], Callable[[Any], Any]] = {
    ("severity_text",): lambda r: r.severity_text,
    ("severity_number",): lambda r: r.severity_number,
    ("time_unix_nano",): lambda r: r.time_unix_nano,
    ("observed_time_unix_nano",): lambda r: r.observed_time_unix_nano,
    ("trace_id",): lambda r: r.trace_id.hex(),
    ("span_id",): lambda r: r.span_id.hex(),
    ("flags",): lambda r: r.flags,
    ("dropped_attributes_count",): lambda r: r.dropped_attributes_count,
    ("event_name",): lambda r: r.event_name,
}

_POINT_FIELDS: dict[tuple[str, ...], Callable[[PointItem], Any]] = {
    ("name",): lambda it: it.metric.name,
    ("type",): lambda it: it.metric.type.value,
    ("unit",): lambda it: it.metric.unit,
    ("description",): lambda it: it.metric.description,
    ("value",): lambda it: getattr(it.point, "value", MISSING),
    ("count",): lambda it: getattr(it.point, "count", MISSING),
    ("sum",): lambda it: _none_missing(getattr(it.point, "sum", MISSING)),
}


def _none_missing(v: Any) -> Any:
    return MISSING if v is None else v


def field_names(signal: Signal) -> list[str]:
    """The fields a path may name on ``signal``'s items besides attributes (and, on logs, the free-form body)."""
    if signal is Signal.LOGS:
        return [f"{RECORD}.{'.'.join(k)}" for k in _RECORD_FIELDS]
    return [".".join(k) for k in (_SPAN_FIELDS if signal is Signal.TRACES else _POINT_FIELDS)]


def roots(signal: Signal) -> Sequence[str]:
    """The condition language's extra roots on ``signal``'s items."""
    return (RECORD,) if signal is Signal.LOGS else ()


def expression(text: str, signal: Signal) -> Expression:
    """A condition over ``signal``'s items, parsed and checked: :class:`ExpressionError` points at what is wrong."""
    expr = Expression(text, roots(signal))
    check(expr, signal)
    return expr


def path(text: str, signal: Signal) -> Path:
    """One field path of ``signal``'s items, parsed and checked like :func:`expression`."""
    found = parse_path(text, roots(signal))
    check_path(found, signal, text, len(text) - len(text.lstrip()) + 1)
    return found


def getter(path: Path, signal: Signal) -> Callable[[Any], Any]:
    """A function reading ``path`` from a :class:`LogItem`, :class:`SpanItem` or :class:`PointItem`.

    Raises ``KeyError`` for a record, span or point path that names no field.
    """
    if path.root == "resource":
        return lambda item: path.lookup(item.resource)
    if path.root == "attributes":
        return lambda item: path.lookup(item.attributes)
    if path.root == RECORD:
        field = _RECORD_FIELDS[path.keys]
        return lambda item: MISSING if item.record is None else field(item.record)
    if signal is Signal.LOGS:
        if len(path.keys) == 1:  # the common case, read without the general walk
            key = path.keys[0]
            return lambda item: b.get(key, MISSING) if type(b := item.body) is dict else MISSING
        return lambda item: path.lookup(item.body)
    if signal is Signal.TRACES:
        read = _SPAN_FIELDS[path.keys]
        return lambda item: read(item.span)
    return _POINT_FIELDS[path.keys]


def check(expr: Expression, signal: Signal) -> None:
    """Raise :class:`ExpressionError` at the first path that ``signal``'s items do not have."""
    for found, column in expr.path_columns.items():
        check_path(found, signal, expr.text, column)


def check_path(found: Path, signal: Signal, text: str, column: int) -> None:
    """Raise :class:`ExpressionError` at ``column`` of ``text`` if ``signal``'s items have no field ``found``."""
    try:
        getter(found, signal)
    except KeyError:
        raise ExpressionError(f"{signal} items have no field {str(found)!r} (fields: "
                              f"{', '.join(field_names(signal))}; or resource.<name>, attributes.<name>)",
                              text, column) from None


def bind(expr: Expression, signal: Signal) -> Callable[[Any], bool]:
    """The condition as a test over ``signal``'s items (check it first)."""
    return expr.bind(lambda p: getter(p, signal))
