"""``include`` / ``exclude``: which items a processor acts on, as the OpenTelemetry Collector matches them.

The properties and their meaning follow the ``attributes`` processor's
"Include/Exclude Filtering" section: every property given must match (an
AND across properties); a list property matches when any of its items does
(an OR within it); ``attributes`` and ``resources`` match when all their
entries do. ``match_type: strict`` compares whole values; ``regexp``
searches names and string values with Python regular expressions.
``include`` is checked before ``exclude``. Which properties a signal may use:

* logs: ``log_bodies``, ``log_severity_texts``, ``log_severity_number``,
  ``attributes``, ``resources``, ``libraries``;
* traces: ``services``, ``span_names``, ``span_kinds``, ``attributes``,
  ``resources``, ``libraries``;
* metrics: ``metric_names``, ``resources``.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Literal, Mapping

from pydantic import Field, model_validator

from collector.component import ComponentConfig, Signal
from collector.pdata.anyvalue import attributes_from_proto, from_anyvalue

#: (resource attributes, scope name, scope version, item) -> matches; the item is
#: an OTLP LogRecord or Span, or a :class:`collector.pdata.metrics.Metric`.
Match = Callable[[Mapping[str, Any], str, str, Any], bool]

_SIGNAL_PROPERTIES = {
    Signal.LOGS: {"log_bodies", "log_severity_texts", "log_severity_number", "attributes", "resources", "libraries"},
    Signal.TRACES: {"services", "span_names", "span_kinds", "attributes", "resources", "libraries"},
    Signal.METRICS: {"metric_names", "resources"},
}
_LIST_PROPERTIES = ("services", "span_names", "span_kinds", "log_bodies", "log_severity_texts", "metric_names",
                    "attributes", "resources", "libraries")
_SPAN_KINDS = ("SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
               "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER")


class KeyValueMatch(ComponentConfig):
    key: str = Field(description="Attribute name.")
    value: Any = Field(None, description="Value to match (a regex for match_type regexp); absent: the key must exist.")


class LibraryMatch(ComponentConfig):
    name: str = Field(description="Instrumentation scope name.")
    version: str | None = Field(None, description="Scope version; absent: any version.")


class SeverityNumberMatch(ComponentConfig):
    min: int = Field(description="Lowest severity number that matches (9 is INFO, 13 WARN, 17 ERROR).")
    match_undefined: bool = Field(False, description="Whether records with no severity (0) match.")


class MatchProperties(ComponentConfig):
    """Properties an item must all have to match."""

    match_type: Literal["strict", "regexp"] = Field(description="`strict` compares whole values; `regexp` searches.")
    services: list[str] = Field(default_factory=list, description="Resource `service.name`, one of these.")
    resources: list[KeyValueMatch] = Field(default_factory=list, description="Resource attributes, all of these.")
    attributes: list[KeyValueMatch] = Field(default_factory=list, description="Item attributes, all of these.")
    libraries: list[LibraryMatch] = Field(default_factory=list, description="Instrumentation scope, one of these.")
    span_names: list[str] = Field(default_factory=list, description="Span name, one of these.")
    span_kinds: list[str] = Field(default_factory=list, description="Span kind (SPAN_KIND_SERVER ...), one of these.")
    log_bodies: list[str] = Field(default_factory=list, description="String log body, one of these.")
    log_severity_texts: list[str] = Field(default_factory=list, description="Log severity text, one of these.")
    log_severity_number: SeverityNumberMatch | None = Field(None, description="Log severity number threshold.")
    metric_names: list[str] = Field(default_factory=list, description="Metric name, one of these.")

    @model_validator(mode="after")
    def _valid(self) -> "MatchProperties":
        if not self.given():
            raise ValueError("give at least one property to match besides match_type")
        for kind in self.span_kinds:
            if kind not in _SPAN_KINDS:
                raise ValueError(f"unknown span kind {kind!r}; expected one of {', '.join(_SPAN_KINDS)}")
        if self.match_type == "regexp":
            for name in ("services", "span_names", "log_bodies", "log_severity_texts", "metric_names"):
                for pattern in getattr(self, name):
                    _regex(pattern, name)
            for name in ("resources", "attributes"):
                for kv in getattr(self, name):
                    if kv.value is not None:
                        _regex(str(kv.value), f"{name}[{kv.key}]")
        return self

    def given(self) -> set[str]:
        names = {n for n in _LIST_PROPERTIES if getattr(self, n)}
        if self.log_severity_number is not None:
            names.add("log_severity_number")
        return names


def compile_match(include: MatchProperties | None, exclude: MatchProperties | None, signal: Signal) -> Match | None:
    """The item test for one signal, or ``None`` when every item matches.

    Raises ``ValueError`` naming a property the signal cannot use.
    """
    inc = _compile(include, signal, "include") if include else None
    exc = _compile(exclude, signal, "exclude") if exclude else None
    if inc is None and exc is None:
        return None
    return lambda r, sn, sv, item: (inc is None or inc(r, sn, sv, item)) and (exc is None or not exc(r, sn, sv, item))


def _regex(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where}: invalid regular expression {pattern!r}: {exc}") from None


def _compile(p: MatchProperties, signal: Signal, where: str) -> Match:
    wrong = p.given() - _SIGNAL_PROPERTIES[signal]
    if wrong:
        raise ValueError(f"{where}: {', '.join(sorted(wrong))} cannot match {signal}; "
                         f"use {', '.join(sorted(_SIGNAL_PROPERTIES[signal]))}")
    strict = p.match_type == "strict"
    tests: list[Match] = []

    def one_of(values: list[str], read: Callable[[Any], Any], label: str) -> None:
        if values:
            test = _value_test(values, strict, label)
            tests.append(lambda r, sn, sv, item: test(read(item)))

    if p.services:  # the service is on the resource, not the item
        services = _value_test(p.services, strict, "services")
        tests.append(lambda r, sn, sv, item: services(r.get("service.name")))
    if p.resources:
        resources = _attributes_test(p.resources, strict)
        tests.append(lambda r, sn, sv, item: resources(r))
    if p.attributes:
        attributes = _attributes_test(p.attributes, strict)
        tests.append(lambda r, sn, sv, item: attributes(attributes_from_proto(item.attributes)))
    if p.libraries:
        libs = [(_value_test([lib.name], strict, "libraries"),
                 None if lib.version is None else _value_test([lib.version], strict, "libraries")) for lib in p.libraries]
        tests.append(lambda r, sn, sv, item: any(n(sn) and (v is None or v(sv)) for n, v in libs))
    one_of(p.span_names, lambda span: span.name, "span_names")
    one_of(p.span_kinds, lambda span: _SPAN_KINDS[span.kind] if 0 <= span.kind < len(_SPAN_KINDS) else "", "span_kinds")
    one_of(p.log_bodies, lambda rec: from_anyvalue(rec.body), "log_bodies")
    one_of(p.log_severity_texts, lambda rec: rec.severity_text, "log_severity_texts")
    one_of(p.metric_names, lambda metric: metric.name, "metric_names")
    if p.log_severity_number is not None:
        low, undefined = p.log_severity_number.min, p.log_severity_number.match_undefined
        tests.append(lambda r, sn, sv, rec: undefined if rec.severity_number == 0 else rec.severity_number >= low)
    return lambda r, sn, sv, item: all(t(r, sn, sv, item) for t in tests)


def _value_test(values: list[str], strict: bool, label: str) -> Callable[[Any], bool]:
    if strict:
        wanted = set(values)
        return lambda v: v in wanted
    regexes = [_regex(v, label) for v in values]
    return lambda v: isinstance(v, str) and any(x.search(v) for x in regexes)


def _attributes_test(entries: list[KeyValueMatch], strict: bool) -> Callable[[Mapping[str, Any]], bool]:
    checks: list[Callable[[Mapping[str, Any]], bool]] = []
    for kv in entries:
        key, value = kv.key, kv.value
        if value is None:
            checks.append(lambda attrs, key=key: key in attrs)
        elif strict:
            checks.append(lambda attrs, key=key, value=value: key in attrs and _same(attrs[key], value))
        else:
            regex = _regex(str(value), f"attributes[{key}]")
            checks.append(lambda attrs, key=key, regex=regex: isinstance(v := attrs.get(key), str)
                          and regex.search(v) is not None)
    return lambda attrs: all(c(attrs) for c in checks)


def _same(a: Any, b: Any) -> bool:
    """Typed equality: ``true`` is not ``1``, but ints and floats compare as numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b
