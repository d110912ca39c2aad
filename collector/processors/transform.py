"""The ``transform`` processor: set, delete, rename and truncate attributes by condition.

A deliberately small statement language; conditions are the shared one
(:mod:`collector.expr`, fields as :mod:`collector.processors.fields` reads
them). One statement per list entry::

    set(<target>, <value>)          [where <condition>]
    delete(<target>)                [where <condition>]
    rename(<target>, "<new key>")   [where <condition>]
    truncate(<target>, <length>)    [where <condition>]

A target is ``attributes.<key>`` (the record's, span's or point's),
``resource.<key>``, or, on spans, ``name``. A value is a literal (string,
number, ``true``, ``false``) or a field path, copied when present (on logs,
``record.severity_text`` and the other record fields too).
``truncate`` shortens a string value to ``length`` characters. Statements
run in order, each seeing the changes of those before it. Statements on
``resource.<key>`` run once per resource, before the others, and their
conditions may read only ``resource.<key>`` (a resource is shared by many
items, so an item's fields cannot decide for it).

```yaml
processors:
  transform:
    logs:
      - set(attributes.env, "prod") where resource.service.name == "checkout"
      - set(attributes.user, user.id) where exists(user.id)
      - set(attributes.level, record.severity_text) where record.severity_number >= 17
      - delete(attributes.password)
      - truncate(attributes.message, 256)
      - rename(attributes.uid, "user.id")
    traces:
      - set(name, "health") where attributes["http.target"] == "/healthz"
    metrics:
      - delete(resource.process.pid)
```
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import Field, field_validator

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.expr import MISSING, Expression, ExpressionError, Path
from collector.pdata import Batch, Logs, Metrics, Traces
from collector.pdata.anyvalue import attributes_from_proto, attributes_to_proto
from collector.processors import fields
from collector.processors.editing import edit_proto

_HEAD = re.compile(r"\s*(set|delete|rename|truncate)\s*\(")
_ARITY = {"set": 2, "delete": 1, "rename": 2, "truncate": 2}
_LITERAL = re.compile(r"""-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$|"(?:[^"\\]|\\.)*"$|'(?:[^'\\]|\\.)*'$""")


@dataclass(frozen=True)
class Statement:
    """A parsed statement: ``target`` is a Path (root ``resource``/``attributes``, or ``body`` for ``name``)."""

    verb: str
    target: Path
    arg: Any  # set: ("lit", v) or ("path", Path); rename: str; truncate: int; delete: None
    where: Expression | None
    text: str

    @property
    def on_resource(self) -> bool:
        return self.target.root == "resource"


def parse_statement(text: str, signal: Signal) -> Statement:
    """Raises :class:`ExpressionError` pointing at the column that is wrong."""
    head = _HEAD.match(text)
    if head is None:
        raise ExpressionError("expected set(...), delete(...), rename(...) or truncate(...)", text, 1)
    verb = head.group(1)
    args, end = _split_args(text, head.end())
    if len(args) != _ARITY[verb]:
        raise ExpressionError(f"{verb} takes {_ARITY[verb]} argument(s), found {len(args)}", text, head.end())
    target = _target(args[0], text, signal)
    arg: Any = None
    reads: list[tuple[Path, int]] = []  # the paths the statement reads, with their columns in ``text``
    if verb in ("set", "rename", "truncate"):
        raw, col = args[1]
        literal = _literal(raw.strip())
        if verb == "set":
            arg = ("lit", literal) if literal is not MISSING else ("path", _path(raw, col, text, signal))
            if arg[0] == "path":
                reads.append((arg[1], col + len(raw) - len(raw.lstrip())))
        elif verb == "rename":
            if not isinstance(literal, str) or target.root not in ("attributes", "resource") or len(target.keys) != 1:
                raise ExpressionError("rename takes an attribute and the new key as a quoted string", text, col)
            arg = literal
        else:
            if type(literal) is not int or literal < 0:
                raise ExpressionError("truncate takes a length: a whole number, 0 or more", text, col)
            arg = literal
    where = _where(text, end, signal)
    if where is not None:
        offset = len(text) - len(where.text)
        reads += [(path, offset + column) for path, column in where.path_columns.items()]
    if target.root == "resource":
        for path, column in sorted(reads, key=lambda read: read[1]):
            if path.root != "resource":
                raise ExpressionError("a statement on resource attributes can only read resource.<key>", text, column)
    return Statement(verb, target, arg, where, text)


def _split_args(text: str, pos: int) -> tuple[list[tuple[str, int]], int]:
    """Top-level comma-separated arguments up to the closing parenthesis, with 1-based columns."""
    args, start, depth, quote = [], pos, 0, ""
    i = pos
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]" and depth:
            depth -= 1
        elif c == "," and not depth:
            args.append((text[start:i], start + 1))
            start = i + 1
        elif c == ")":
            args.append((text[start:i], start + 1))
            return [a for a in args if a[0].strip() or len(args) > 1], i + 1
        i += 1
    raise ExpressionError("unclosed '(' or string", text, pos)


def _literal(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    if not _LITERAL.match(raw):
        return MISSING
    if raw[0] == "'":
        raw = '"' + raw[1:-1].replace("\\'", "'").replace('"', '\\"') + '"'
    return json.loads(raw)


def _path(raw: str, col: int, text: str, signal: Signal) -> Path:
    try:
        return fields.path(raw, signal)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, text, col + exc.column - 1) from None


def _target(arg: tuple[str, int], text: str, signal: Signal) -> Path:
    raw, col = arg
    path = _path(raw, col, text, signal)
    if path.root in ("attributes", "resource") and len(path.keys) == 1:
        return path
    if signal is Signal.TRACES and path.root == "body" and path.keys == ("name",):
        return path
    where = "attributes.<key>, resource.<key>" + (" or name" if signal is Signal.TRACES else "")
    raise ExpressionError(f"cannot change {str(path)!r}: a target is {where}", text, col + len(raw) - len(raw.lstrip()))


def _where(text: str, end: int, signal: Signal) -> Expression | None:
    rest = text[end:]
    if not rest.strip():
        return None
    m = re.match(r"\s*where\s", rest)
    if m is None:
        raise ExpressionError("expected 'where' or the end of the statement", text, end + len(rest) - len(rest.lstrip()) + 1)
    offset = end + m.end()
    try:
        return fields.expression(text[offset:], signal)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, text, offset + exc.column) from None


Run = Callable[[Any, dict[str, Any]], bool]


def _compile(stmt: Statement, signal: Signal) -> Run:
    """A function applying the statement to an item whose editable attributes are ``attrs``."""
    cond = fields.bind(stmt.where, signal) if stmt.where is not None else None
    key = stmt.target.keys[0] if stmt.target.keys else ""
    is_name = stmt.target.root == "body"
    if stmt.verb == "set":
        kind, v = stmt.arg
        value = (lambda item: v) if kind == "lit" else fields.getter(v, signal)

        def act(item: Any, attrs: dict[str, Any]) -> bool:
            new = value(item)
            if new is MISSING:
                return False
            if is_name:
                item.span.name = str(new)
                return False
            attrs[key] = new
            return True
    elif stmt.verb == "delete":
        def act(item: Any, attrs: dict[str, Any]) -> bool:
            return attrs.pop(key, MISSING) is not MISSING
    elif stmt.verb == "rename":
        new_key = stmt.arg

        def act(item: Any, attrs: dict[str, Any]) -> bool:
            if key not in attrs:
                return False
            attrs[new_key] = attrs.pop(key)
            return True
    else:
        length = stmt.arg

        def act(item: Any, attrs: dict[str, Any]) -> bool:
            if is_name:
                item.span.name = item.span.name[:length]
                return False
            v = attrs.get(key)
            if not isinstance(v, str) or len(v) <= length:
                return False
            attrs[key] = v[:length]
            return True

    if cond is None:
        return act
    return lambda item, attrs: cond(item) and act(item, attrs)


class TransformConfig(ComponentConfig):
    logs: list[str] = Field(default_factory=list, description="Statements run on each log record.")
    metrics: list[str] = Field(default_factory=list, description="Statements run on each metric data point.")
    traces: list[str] = Field(default_factory=list, description="Statements run on each span.")

    @field_validator("logs", "metrics", "traces")
    @classmethod
    def _parse(cls, v: list[str], info: Any) -> list[str]:
        for text in v:
            parse_statement(text, Signal(info.field_name))
        return v


class _ResourceView:
    """The item a resource statement's condition sees: only ``resource`` is there."""

    __slots__ = ("resource",)

    def __init__(self, resource: dict[str, Any]) -> None:
        self.resource = resource


class TransformProcessor:
    mutates_data = True

    def __init__(self, settings: Settings, config: TransformConfig, next: Consumer) -> None:
        self._signal = signal = settings.signal
        self._next = next
        statements = [parse_statement(t, signal) for t in getattr(config, signal.value)]
        self._resource = [_compile(s, signal) for s in statements if s.on_resource]
        self._item = [_compile(s, signal) for s in statements if not s.on_resource]

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def consume(self, batch: Batch) -> None:
        if self._resource or self._item:
            batch.invalidate_serialized()
            if isinstance(batch, Metrics):
                self._metrics(batch)
            else:
                self._otlp(batch)
        await self._next.consume(batch)

    def _edit_resource(self, attrs: dict[str, Any]) -> bool:
        view = _ResourceView(attrs)
        changed = False
        for run in self._resource:
            changed = run(view, attrs) or changed
        return changed

    def _run_items(self, item: Any, attrs: dict[str, Any]) -> bool:
        changed = False
        for run in self._item:
            changed = run(item, attrs) or changed
        return changed

    def _otlp(self, batch: Logs | Traces) -> None:
        if isinstance(batch, Logs):
            groups = [(rl.resource, [r for sl in rl.scope_logs for r in sl.log_records]) for rl in batch.request.resource_logs]
            make = fields.LogItem
        else:
            groups = [(rs.resource, [s for ss in rs.scope_spans for s in ss.spans]) for rs in batch.request.resource_spans]
            make = fields.SpanItem
        for resource, items in groups:
            if self._resource:
                edit_proto(resource.attributes, self._edit_resource)
            if not self._item:
                continue
            res = attributes_from_proto(resource.attributes)
            for it in items:
                item = make(res, it)
                attrs = item.attributes  # a fresh dict: conditions see the edits as they happen
                if self._run_items(item, attrs):  # type: ignore[arg-type]
                    del it.attributes[:]
                    it.attributes.extend(attributes_to_proto(attrs))

    def _metrics(self, batch: Metrics) -> None:
        for rm in batch.resource_metrics:
            if self._resource:
                attrs = dict(rm.resource.attributes)
                if self._edit_resource(attrs):
                    rm.resource.attributes = attrs
            if not self._item:
                continue
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    for point in metric.points:
                        point.attributes = dict(point.attributes)
                        self._run_items(fields.PointItem(rm.resource.attributes, metric, point), point.attributes)


def create(settings: Settings, config: TransformConfig, next: Consumer) -> TransformProcessor:
    return TransformProcessor(settings, config, next)


factory = Factory(
    type="transform",
    kind=Kind.PROCESSOR,
    config=TransformConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA, Signal.METRICS: Stability.ALPHA, Signal.TRACES: Stability.ALPHA},
    description="Sets, deletes, renames and truncates attributes by condition.",
)
