"""The CloudWatch embedded metric format (EMF), as code: the project's one source of EMF truth.

Both directions use it: the ``emf`` parser of ``logs_to_metrics`` reads
events with :func:`read_event` / :func:`read_line`, and the ``awsemf``
exporter checks every event it builds with :func:`validate` before it leaves,
because CloudWatch stores an event that breaks a rule but extracts no metric
from it (counted only in its own ``AWS/Logs`` ``EMFValidationErrors``).

Sources, and how conflicts between them are settled (the stricter rule wins,
so whatever passes here is accepted everywhere):

* The EMF specification ("Specification: Embedded metric format", CloudWatch
  user guide): ``_aws`` with ``Timestamp`` (ms since the epoch) and
  ``CloudWatchMetrics``, directives of ``Namespace``, ``Dimensions`` (at most
  30 keys per set), ``Metrics`` (at most 100 definitions: ``Name``, optional
  ``Unit`` default ``None``, optional ``StorageResolution`` 1 or 60 default
  60); targets are root members, dimension targets strings of at most 1024
  characters, metric targets a number or an array of at most 100 numbers;
  events at most 1 MB (the spec said 256 KB before CloudWatch Logs raised
  its event limit). Its JSON schema caps dimension keys at 250 characters.
* The CloudWatch API and concepts pages, for what extraction publishes:
  namespaces of 1-255 characters from ``[0-9A-Za-z._/#:-]`` and space, not
  starting with ``:`` nor ``AWS/``; metric names of 1-255 characters;
  dimension names and values printable ASCII with a non-blank character,
  names not starting with ``:``; values finite within +-2^360.
* The AWS client (``aws-embedded-metrics``): one event must not give a
  metric two storage resolutions. It writes ``"Dimensions": []`` for a
  metric without dimensions, which the schema's ``minItems: 1`` would refuse
  and CloudWatch accepts: here it means one empty dimension set.

Beyond the specification, :func:`validate` can accept the distribution and
statistic-set objects (``{"Values", "Counts", "Min", "Max", "Sum",
"Count"}``) that the CloudWatch agent and OpenTelemetry's awsemf exporter
send for histograms (``allow_distributions=True``); the parser does not.

Problems are returned, never raised: each has a stable :class:`Reason`
(a telemetry label), a message naming the bad value, and a JSON path.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import orjson

MAX_METRICS_PER_DIRECTIVE = 100
MAX_DIMENSIONS_PER_SET = 30
MAX_VALUES_PER_ARRAY = 100
MAX_NAMESPACE_CHARS = 255
MAX_METRIC_NAME_CHARS = 255
MAX_DIMENSION_NAME_CHARS = 250
MAX_DIMENSION_VALUE_CHARS = 1024
#: CloudWatch Logs' event limit; PutLogEvents counts 26 bytes of overhead per event against it.
MAX_EVENT_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
#: CloudWatch rejects values outside +-2^360 and non-zero magnitudes below 2^-360.
MAX_MAGNITUDE = 2.0**360
MIN_MAGNITUDE = 2.0**-360
STORAGE_RESOLUTIONS = (1, 60)
DEFAULT_STORAGE_RESOLUTION = 60
DEFAULT_UNIT = "None"
RESERVED_NAMESPACE_PREFIX = "AWS/"
#: How EMF identity rides on the internal metric model, from the ``emf`` parser to the ``awsemf``
#: exporter: the directive's namespace as a point attribute, ``StorageResolution`` in the metric's metadata.
NAMESPACE_ATTRIBUTE = "aws.emf.namespace"
STORAGE_RESOLUTION_METADATA = "aws.emf.storage_resolution"

#: CloudWatch units and their UCUM spelling (as OpenTelemetry writes units).
#: Counts are UCUM annotations (``{count}``), not ``1``, which means a ratio.
UCUM_BY_UNIT: Mapping[str, str] = {
    "Seconds": "s", "Microseconds": "us", "Milliseconds": "ms",
    "Bytes": "By", "Kilobytes": "kBy", "Megabytes": "MBy", "Gigabytes": "GBy", "Terabytes": "TBy",
    "Bits": "bit", "Kilobits": "kbit", "Megabits": "Mbit", "Gigabits": "Gbit", "Terabits": "Tbit",
    "Percent": "%", "Count": "{count}",
    "Bytes/Second": "By/s", "Kilobytes/Second": "kBy/s", "Megabytes/Second": "MBy/s",
    "Gigabytes/Second": "GBy/s", "Terabytes/Second": "TBy/s",
    "Bits/Second": "bit/s", "Kilobits/Second": "kbit/s", "Megabits/Second": "Mbit/s",
    "Gigabits/Second": "Gbit/s", "Terabits/Second": "Tbit/s",
    "Count/Second": "{count}/s", "None": "",
}
UNITS = frozenset(UCUM_BY_UNIT)
#: The inverse table, for exporters: exact UCUM spellings only.
UNIT_BY_UCUM: Mapping[str, str] = {ucum: unit for unit, ucum in UCUM_BY_UNIT.items()}

_NAMESPACE_CHARS = re.compile(r"[0-9A-Za-z._/#: -]+")
_DISTRIBUTION_STATS = ("Min", "Max", "Sum", "Count")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT64_LIMIT = 1 << 63


class Reason(enum.StrEnum):
    """Why an event is not valid EMF; stable names for counters and tests."""

    INVALID_JSON = "invalid_json"
    NOT_OBJECT = "not_object"
    TOO_LARGE = "too_large"
    MISSING_METADATA = "missing_metadata"
    BAD_METADATA = "bad_metadata"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_DIRECTIVES = "bad_directives"
    BAD_DIRECTIVE = "bad_directive"
    BAD_NAMESPACE = "bad_namespace"
    BAD_DIMENSIONS = "bad_dimensions"
    TOO_MANY_DIMENSIONS = "too_many_dimensions"
    BAD_DIMENSION_NAME = "bad_dimension_name"
    MISSING_DIMENSION = "missing_dimension"
    BAD_DIMENSION_VALUE = "bad_dimension_value"
    BAD_METRICS = "bad_metrics"
    TOO_MANY_METRICS = "too_many_metrics"
    BAD_METRIC_NAME = "bad_metric_name"
    BAD_UNIT = "bad_unit"
    BAD_STORAGE_RESOLUTION = "bad_storage_resolution"
    CONFLICTING_RESOLUTION = "conflicting_resolution"
    MISSING_VALUE = "missing_value"
    BAD_VALUE = "bad_value"
    TOO_MANY_VALUES = "too_many_values"


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: ``path`` is a JSONPath into the event (``$._aws.CloudWatchMetrics[0].Namespace``)."""

    reason: Reason
    message: str
    path: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    name: str
    unit: str = DEFAULT_UNIT
    storage_resolution: int = DEFAULT_STORAGE_RESOLUTION


@dataclass(frozen=True, slots=True)
class Directive:
    namespace: str
    #: ``"Dimensions": []`` reads as one empty set: the metric without dimensions.
    dimension_sets: tuple[tuple[str, ...], ...]
    metrics: tuple[MetricDefinition, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """A valid EMF event; ``root`` is the decoded document, read-only for whoever holds the event."""

    timestamp_ms: int
    directives: tuple[Directive, ...]
    root: Mapping[str, Any]

    def values(self, name: str) -> list[float]:
        """The samples of a number or array target: one for a number, each member of an array.

        A distribution object (accepted only with ``allow_distributions``) is not samples: read ``root``.
        """
        value = self.root[name]
        return [float(v) for v in value] if type(value) is list else [float(value)]


def event_size_problem(message: bytes, limit: int = MAX_EVENT_BYTES) -> Problem | None:
    """The event's bytes plus PutLogEvents' per-event overhead must fit ``limit``."""
    size = len(message) + EVENT_OVERHEAD_BYTES
    if size > limit:
        return Problem(Reason.TOO_LARGE, f"event is {size} bytes with the {EVENT_OVERHEAD_BYTES}-byte "
                                         f"event overhead, over the {limit}-byte limit", "$")
    return None


def read_line(line: bytes | str, max_event_bytes: int = MAX_EVENT_BYTES) -> tuple[Event | None, list[Problem]]:
    """Decode and check one log line: the event, or None and every problem found."""
    data = line.encode() if isinstance(line, str) else line
    too_large = event_size_problem(data, max_event_bytes)
    if too_large:
        return None, [too_large]
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return None, [Problem(Reason.INVALID_JSON, f"not JSON: {exc}", "$")]
    return read_event(doc)


def validate(doc: Any, *, allow_distributions: bool = False) -> list[Problem]:
    """Every rule ``doc`` (a decoded event, e.g. a dict an exporter built) breaks; empty if valid."""
    return read_event(doc, allow_distributions=allow_distributions)[1]


def read_event(doc: Any, *, allow_distributions: bool = False) -> tuple[Event | None, list[Problem]]:
    """The typed event when ``doc`` is valid EMF, else None and every problem found."""
    checker = _Checker(doc, allow_distributions)
    event = checker.event()
    return (event if not checker.problems else None), checker.problems


class _Checker:
    """One pass over a document that collects problems and builds the typed event."""

    def __init__(self, doc: Any, allow_distributions: bool) -> None:
        self.doc = doc
        self.allow_distributions = allow_distributions
        self.problems: list[Problem] = []
        self.resolutions: dict[str, int] = {}

    def add(self, reason: Reason, message: str, path: str) -> None:
        self.problems.append(Problem(reason, message, path))

    def event(self) -> Event | None:
        doc = self.doc
        if not isinstance(doc, Mapping):
            self.add(Reason.NOT_OBJECT, f"an EMF event must be a JSON object, not {_kind(doc)}", "$")
            return None
        if "_aws" not in doc:
            self.add(Reason.MISSING_METADATA, "the root has no _aws member", "$")
            return None
        meta = doc["_aws"]
        if not isinstance(meta, Mapping):
            self.add(Reason.BAD_METADATA, f"_aws must be an object, not {_kind(meta)}", "$._aws")
            return None
        timestamp = self.timestamp(meta)
        path = "$._aws.CloudWatchMetrics"
        raw = meta.get("CloudWatchMetrics")
        if not isinstance(raw, list):
            missing = "CloudWatchMetrics" not in meta
            self.add(Reason.BAD_DIRECTIVES, "_aws has no CloudWatchMetrics member" if missing else
                     f"CloudWatchMetrics must be an array of directives, not {_kind(raw)}", path)
            return None
        directives = [self.directive(d, f"{path}[{i}]") for i, d in enumerate(raw)]
        if self.problems or timestamp is None:
            return None
        return Event(timestamp, tuple(d for d in directives if d is not None), doc)

    def timestamp(self, meta: Mapping[str, Any]) -> int | None:
        path = "$._aws.Timestamp"
        if "Timestamp" not in meta:
            self.add(Reason.BAD_TIMESTAMP, "_aws has no Timestamp member", path)
            return None
        value = meta["Timestamp"]
        # The schema says integer; JSON Schema counts 1.0 as one.
        if (type(value) is int or type(value) is float and value.is_integer()) and 0 <= value < _INT64_LIMIT:
            return int(value)
        self.add(Reason.BAD_TIMESTAMP, f"Timestamp must be a non-negative integer of milliseconds "
                                       f"since the epoch, not {_show(value)}", path)
        return None

    def directive(self, raw: Any, path: str) -> Directive | None:
        if not isinstance(raw, Mapping):
            self.add(Reason.BAD_DIRECTIVE, f"a directive must be an object, not {_kind(raw)}", path)
            return None
        namespace = self.namespace(raw, f"{path}.Namespace")
        sets = self.dimension_sets(raw, f"{path}.Dimensions")
        metrics = self.metrics(raw, f"{path}.Metrics")
        if namespace is None or sets is None or metrics is None:
            return None
        return Directive(namespace, sets, metrics)

    def namespace(self, directive: Mapping[str, Any], path: str) -> str | None:
        if "Namespace" not in directive:
            self.add(Reason.BAD_NAMESPACE, "the directive has no Namespace member", path)
            return None
        problem = namespace_problem(directive["Namespace"])
        if problem:
            self.add(Reason.BAD_NAMESPACE, problem, path)
            return None
        return directive["Namespace"]

    def dimension_sets(self, directive: Mapping[str, Any], path: str) -> tuple[tuple[str, ...], ...] | None:
        raw = directive.get("Dimensions")
        if not isinstance(raw, list):
            self.add(Reason.BAD_DIMENSIONS, "the directive has no Dimensions member" if "Dimensions" not in directive
                     else f"Dimensions must be an array of dimension sets, not {_kind(raw)}", path)
            return None
        before = len(self.problems)
        sets = tuple(self.dimension_set(s, f"{path}[{j}]") for j, s in enumerate(raw)) or ((),)
        return sets if len(self.problems) == before else None

    def dimension_set(self, raw: Any, path: str) -> tuple[str, ...]:
        if not isinstance(raw, list):
            self.add(Reason.BAD_DIMENSIONS, f"a dimension set must be an array of keys, not {_kind(raw)}", path)
            return ()
        if len(raw) > MAX_DIMENSIONS_PER_SET:
            self.add(Reason.TOO_MANY_DIMENSIONS, f"{len(raw)} dimension keys, over the limit of "
                                                 f"{MAX_DIMENSIONS_PER_SET}", path)
        for k, key in enumerate(raw):
            problem = dimension_name_problem(key)
            if problem:
                self.add(Reason.BAD_DIMENSION_NAME, problem, f"{path}[{k}]")
            elif key not in self.doc:
                self.add(Reason.MISSING_DIMENSION, f"dimension {key!r} is not a member of the root", f"{path}[{k}]")
            else:
                problem = dimension_value_problem(self.doc[key])
                if problem:
                    self.add(Reason.BAD_DIMENSION_VALUE, f"dimension {key!r}: {problem}", _root_path(key))
        return tuple(raw)

    def metrics(self, directive: Mapping[str, Any], path: str) -> tuple[MetricDefinition, ...] | None:
        raw = directive.get("Metrics")
        if not isinstance(raw, list):
            self.add(Reason.BAD_METRICS, "the directive has no Metrics member" if "Metrics" not in directive
                     else f"Metrics must be an array of metric definitions, not {_kind(raw)}", path)
            return None
        if len(raw) > MAX_METRICS_PER_DIRECTIVE:
            self.add(Reason.TOO_MANY_METRICS, f"{len(raw)} metric definitions, over the limit of "
                                              f"{MAX_METRICS_PER_DIRECTIVE}", path)
        definitions = [self.definition(d, f"{path}[{k}]") for k, d in enumerate(raw)]
        if any(d is None for d in definitions):
            return None
        return tuple(d for d in definitions if d is not None)

    def definition(self, raw: Any, path: str) -> MetricDefinition | None:
        if not isinstance(raw, Mapping):
            self.add(Reason.BAD_METRICS, f"a metric definition must be an object, not {_kind(raw)}", path)
            return None
        name = raw.get("Name")
        problem = metric_name_problem(name) if "Name" in raw else "the metric definition has no Name member"
        if problem:
            self.add(Reason.BAD_METRIC_NAME, problem, f"{path}.Name")
            return None
        unit = raw.get("Unit", DEFAULT_UNIT)
        if unit not in UNITS:
            self.add(Reason.BAD_UNIT, f"unit {_show(unit)} is not a CloudWatch unit", f"{path}.Unit")
        resolution = raw.get("StorageResolution", DEFAULT_STORAGE_RESOLUTION)
        if type(resolution) is not int or resolution not in STORAGE_RESOLUTIONS:
            self.add(Reason.BAD_STORAGE_RESOLUTION, f"StorageResolution must be 1 or 60, not {_show(resolution)}",
                     f"{path}.StorageResolution")
        elif self.resolutions.setdefault(name, resolution) != resolution:
            self.add(Reason.CONFLICTING_RESOLUTION, f"metric {name!r} has StorageResolution "
                     f"{self.resolutions[name]} elsewhere in the event; one event gives a metric one resolution",
                     f"{path}.StorageResolution")
        self.target(name)
        if unit not in UNITS or resolution not in STORAGE_RESOLUTIONS:
            return None
        return MetricDefinition(name, unit, resolution)

    def target(self, name: str) -> None:
        path = _root_path(name)
        if name not in self.doc:
            self.add(Reason.MISSING_VALUE, f"metric {name!r} is not a member of the root", path)
            return
        value = self.doc[name]
        if type(value) is list:
            if len(value) > MAX_VALUES_PER_ARRAY:
                self.add(Reason.TOO_MANY_VALUES, f"metric {name!r} has {len(value)} values, over the limit of "
                                                 f"{MAX_VALUES_PER_ARRAY}", path)
            for i, v in enumerate(value):
                problem = value_problem(v)
                if problem:
                    self.add(Reason.BAD_VALUE, f"metric {name!r}: {problem}", f"{path}[{i}]")
            return
        if self.allow_distributions and isinstance(value, Mapping):
            for reason, label, problem in _distribution_problems(value):
                self.add(reason, f"metric {name!r}: {problem}", f"{path}.{label}" if label else path)
            return
        problem = value_problem(value)
        if problem:
            expected = "a number or an array of numbers"
            self.add(Reason.BAD_VALUE, f"metric {name!r}: {problem}" if _is_number(value) else
                     f"metric {name!r} must be {expected}, not {_kind(value)}", path)


def namespace_problem(namespace: Any) -> str | None:
    """Why ``namespace`` cannot be a CloudWatch namespace, or None."""
    if not isinstance(namespace, str):
        return f"namespace must be a string, not {_kind(namespace)}"
    if not namespace.strip():
        return "namespace must hold a non-whitespace character"
    if len(namespace) > MAX_NAMESPACE_CHARS:
        return f"namespace is {len(namespace)} characters, over the limit of {MAX_NAMESPACE_CHARS}"
    if not _NAMESPACE_CHARS.fullmatch(namespace):
        return f"namespace {namespace!r} holds a character outside 0-9 A-Z a-z . - _ / # : and space"
    if namespace.startswith(":"):
        return f"namespace {namespace!r} must not start with ':'"
    if namespace.startswith(RESERVED_NAMESPACE_PREFIX):
        return f"namespace {namespace!r} uses the prefix {RESERVED_NAMESPACE_PREFIX!r} reserved for AWS services"
    return None


def metric_name_problem(name: Any) -> str | None:
    if not isinstance(name, str):
        return f"metric name must be a string, not {_kind(name)}"
    if not name.strip():
        return "metric name must hold a non-whitespace character"
    if len(name) > MAX_METRIC_NAME_CHARS:
        return f"metric name is {len(name)} characters, over the limit of {MAX_METRIC_NAME_CHARS}"
    return None


def dimension_name_problem(name: Any) -> str | None:
    if not isinstance(name, str):
        return f"dimension key must be a string, not {_kind(name)}"
    return _ascii_text_problem("dimension key", name, MAX_DIMENSION_NAME_CHARS) or (
        f"dimension key {name!r} must not start with ':'" if name.startswith(":") else None)


def dimension_value_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"the value must be a string, not {_kind(value)}"
    return _ascii_text_problem("the value", value, MAX_DIMENSION_VALUE_CHARS)


def value_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a CloudWatch metric value, or None."""
    if not _is_number(value):
        return f"{_show(value)} is not a number"
    if type(value) is float and not math.isfinite(value):
        return f"{value!r} is not finite"
    magnitude = abs(value)
    if magnitude != 0 and not MIN_MAGNITUDE <= magnitude <= MAX_MAGNITUDE:
        return f"{_show(value)} is outside CloudWatch's range (magnitude 2^-360 to 2^360)"
    return None


def _distribution_problems(value: Mapping[str, Any]) -> list[tuple[Reason, str, str]]:
    """(reason, member, message) for each way a distribution or statistic-set object is broken."""
    problems = [(Reason.BAD_VALUE, k, f"{k} is missing or {problem}") for k in _DISTRIBUTION_STATS
                for problem in [value_problem(value.get(k))] if problem]
    extra = sorted(set(value) - {"Values", "Counts", *_DISTRIBUTION_STATS})
    if extra:
        problems.append((Reason.BAD_VALUE, "", f"unknown members {extra}"))
    if ("Values" in value) != ("Counts" in value):
        problems.append((Reason.BAD_VALUE, "", "Values and Counts go together"))
    elif "Values" in value:
        values, counts = value["Values"], value["Counts"]
        if type(values) is not list or type(counts) is not list or len(values) != len(counts):
            problems.append((Reason.BAD_VALUE, "", "Values and Counts must be arrays of equal length"))
        elif len(values) > MAX_VALUES_PER_ARRAY:
            problems.append((Reason.TOO_MANY_VALUES, "Values",
                             f"{len(values)} values, over the limit of {MAX_VALUES_PER_ARRAY}"))
        else:
            problems += [(Reason.BAD_VALUE, f"{label}[{i}]", problem) for label in ("Values", "Counts")
                         for i, v in enumerate(value[label]) for problem in [value_problem(v)] if problem]
    return problems


def _ascii_text_problem(what: str, text: str, limit: int) -> str | None:
    if not text.strip():
        return f"{what} must hold a non-whitespace character"
    if len(text) > limit:
        return f"{what} is {len(text)} characters, over the limit of {limit}"
    if not (text.isascii() and text.isprintable()):  # printable ASCII is " " to "~"
        return f"{what} {text!r} holds a non-ASCII or control character"
    return None


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _kind(value: Any) -> str:
    """The JSON type of a decoded value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _show(value: Any) -> str:
    """A value as JSON spells it (``true``, ``"x"``, ``null``), shortened."""
    try:
        text = repr(value) if type(value) is float else orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _root_path(key: str) -> str:
    return f"$.{key}" if _PLAIN_KEY.fullmatch(key) else f"$[{orjson.dumps(key).decode()}]"
