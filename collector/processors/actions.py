"""Attribute actions, as the OpenTelemetry Collector's ``attributes`` processor defines them.

Shared by the ``attributes`` and ``resource`` processors: a list of actions
is validated at config load and compiled once into a function that edits a
plain ``dict`` of attributes in place, in the order written.

* ``insert``: set ``key`` where it is absent; ``update``: where it is present;
  ``upsert``: either way. The value is ``value``, or the value of
  ``from_attribute`` (no action when that is absent and no ``default_value``).
* ``delete``: remove ``key`` and/or every key that ``pattern`` finds a match
  in (an unanchored search, as Go's ``MatchString``: anchor with ``^...$``).
* ``hash``: replace the value of ``key`` and/or of the keys matching
  ``pattern`` with the SHA-256 hex digest of its string form (newer
  OpenTelemetry Collectors hash with SHA-256 too; older ones used SHA-1).
* ``extract``: search the string value of ``key`` with ``pattern`` and upsert
  one attribute per named group that matched; ``key`` itself is kept.
* ``convert``: turn the value of ``key`` into ``int``, ``double``, ``string``
  or ``bool``; a value that does not convert is left as it is.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Callable, Literal

from pydantic import Field, model_validator

from collector.component import ComponentConfig

#: Edits attributes in place; returns whether anything changed.
Edit = Callable[[dict[str, Any]], bool]


class Action(ComponentConfig):
    """One step applied to the attributes of each item."""

    action: Literal["insert", "update", "upsert", "delete", "hash", "extract", "convert"] = Field(
        description="What to do: insert, update, upsert, delete, hash, extract or convert."
    )
    key: str | None = Field(None, description="The attribute to act on.")
    value: Any = Field(None, description="insert/update/upsert: the value to set; its type is kept.")
    from_attribute: str | None = Field(None, description="insert/update/upsert: copy the value of this attribute.")
    default_value: Any = Field(None, description="insert/update/upsert: the value to use when `from_attribute` is absent.")
    pattern: str | None = Field(
        None, description="delete/hash: a regex over attribute names; extract: a regex with named groups over the value."
    )
    converted_type: Literal["int", "double", "string", "bool"] | None = Field(
        None, description="convert: the type to convert to."
    )

    @model_validator(mode="after")
    def _fields_fit_action(self) -> "Action":
        a = self.action
        if a in ("insert", "update", "upsert"):
            if not self.key:
                raise ValueError(f"action {a!r} needs `key`")
            sources = [n for n in ("value", "from_attribute") if getattr(self, n) is not None]
            if len(sources) > 1:
                raise ValueError(f"action {a!r} takes one of `value` or `from_attribute`, not both")
            if not sources and self.default_value is None:
                raise ValueError(f"action {a!r} needs `value`, `from_attribute` or `default_value`")
        elif a in ("delete", "hash"):
            if not self.key and not self.pattern:
                raise ValueError(f"action {a!r} needs `key` and/or `pattern`")
        elif a == "extract":
            if not self.key or not self.pattern:
                raise ValueError("action 'extract' needs `key` and `pattern`")
        elif a == "convert" and (not self.key or self.converted_type is None):
            raise ValueError("action 'convert' needs `key` and `converted_type` (int, double, string or bool)")
        if self.pattern is not None:
            try:
                regex = re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"invalid pattern {self.pattern!r}: {exc}") from None
            if a == "extract" and not regex.groupindex:
                raise ValueError(f"extract pattern {self.pattern!r} has no named groups, as in (?P<name>...)")
        return self


def compile_actions(actions: list[Action]) -> Edit:
    """One function applying every action in order; ``changed`` is true if any did something."""
    steps = [_compile(a) for a in actions]

    def apply(attrs: dict[str, Any]) -> bool:
        changed = False
        for step in steps:
            changed = step(attrs) or changed
        return changed

    return apply


def _compile(a: Action) -> Edit:
    kind = a.action
    if kind in ("insert", "update", "upsert"):
        return _setter(a)
    names = _name_matcher(a)
    if kind == "delete":
        def delete(attrs: dict[str, Any]) -> bool:
            doomed = [k for k in attrs if names(k)]
            for k in doomed:
                del attrs[k]
            return bool(doomed)
        return delete
    if kind == "hash":
        def hash_(attrs: dict[str, Any]) -> bool:
            hit = [k for k in attrs if names(k)]
            for k in hit:
                attrs[k] = hashlib.sha256(_as_string(attrs[k]).encode()).hexdigest()
            return bool(hit)
        return hash_
    key = a.key
    assert key is not None
    if kind == "extract":
        regex = re.compile(a.pattern or "")

        def extract(attrs: dict[str, Any]) -> bool:
            value = attrs.get(key)
            m = regex.search(value) if isinstance(value, str) else None
            if m is None:
                return False
            found = {k: v for k, v in m.groupdict().items() if v is not None}
            attrs.update(found)
            return bool(found)
        return extract
    to = _CONVERTERS[a.converted_type or "string"]

    def convert(attrs: dict[str, Any]) -> bool:
        if key not in attrs:
            return False
        new = to(attrs[key])
        if new is None or (type(new) is type(attrs[key]) and new == attrs[key]):
            return False
        attrs[key] = new
        return True
    return convert


def _setter(a: Action) -> Edit:
    key, source, fallback = a.key or "", a.from_attribute, a.default_value
    insert, update = a.action in ("insert", "upsert"), a.action in ("update", "upsert")
    const = a.value if a.value is not None else fallback

    def set_(attrs: dict[str, Any]) -> bool:
        present = key in attrs
        if (present and not update) or (not present and not insert):
            return False
        value = attrs.get(source, fallback) if source is not None else const
        if value is None:
            return False
        attrs[key] = value
        return True
    return set_


def _name_matcher(a: Action) -> Callable[[str], bool]:
    regex = re.compile(a.pattern) if a.pattern else None
    key = a.key
    return lambda k: k == key or (regex is not None and regex.search(k) is not None)


def _as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _to_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v == v and abs(v) != float("inf") else None
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            f = _to_double(v)
            return _to_int(f) if f is not None else None
    return None


def _to_double(v: Any) -> float | None:
    if isinstance(v, (bool, int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _to_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(v.strip().lower())
    return None


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "int": _to_int,
    "double": _to_double,
    "string": _as_string,
    "bool": _to_bool,
}
