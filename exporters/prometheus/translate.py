"""The internal metric model seen as Prometheus series: names, types, labels.

Shared by the scrape renderer (:mod:`exporters.prometheus.render`) and the
remote-write exporter, so both give a metric the same name and a point the
same labels. It follows the OpenTelemetry "Prometheus and OpenMetrics
Compatibility" specification:

* a point's attributes become labels; keys that sanitise to the same name
  have their values joined with ``;`` in the order of the original keys;
* non-string values are written as OpenTelemetry's attribute spec says
  (``true``, ``42``, JSON for arrays and maps, base64 for bytes);
* ``otel_scope_name``, ``otel_scope_version``, ``otel_scope_schema_url`` and
  ``otel_scope_<attribute>`` labels name the instrumentation scope;
* ``job`` is ``<service.namespace>/<service.name>`` and ``instance`` is
  ``service.instance.id``; the other resource attributes go to
  ``target_info`` (or onto every series with
  ``resource_to_telemetry_conversion``);
* constant labels fill in only what the point does not already have.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from collector.pdata.metrics import Metric, MetricType, Resource, Scope, Temporality
from exporters.prometheus import naming
from exporters.prometheus.naming import TranslationStrategy

_SERVICE_KEYS = ("service.name", "service.namespace", "service.instance.id")


@dataclass(frozen=True)
class RenderOptions:
    """How metrics are named and labelled; the exporters' config maps onto it."""

    #: prefix of every metric name (sanitised, joined with ``_``)
    namespace: str = ""
    #: labels added to every series that does not already have them
    const_labels: Mapping[str, str] = field(default_factory=dict)
    #: write each sample's timestamp (scrape output; remote write always does)
    send_timestamps: bool = False
    #: copy every resource attribute onto every series as a label
    resource_to_telemetry_conversion: bool = False
    translation_strategy: TranslationStrategy = TranslationStrategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES


@dataclass(frozen=True, slots=True)
class Family:
    """One Prometheus metric family: its name and metadata."""

    name: str
    #: counter, gauge, histogram, summary or unknown
    type: str
    help: str
    #: the OpenMetrics UNIT, "" when the name does not end with it
    unit: str


def attribute_string(value: Any) -> str:
    """A non-string attribute value as the OpenTelemetry attribute spec writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def format_float(value: float) -> str:
    """A sample value or bound as Prometheus writes it: ``+Inf``, ``-Inf``, ``NaN``."""
    if value != value:
        return "NaN"
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    return repr(float(value))


def sanitize_attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    """Attributes as Prometheus labels; colliding keys have their values joined."""
    out: dict[str, str] = {}
    cache = _LABEL_NAMES
    for key, value in attributes.items():
        name = cache.get(key)
        if name is None:
            name = cache[key] = naming.label_name(key)
        if not name:
            continue
        if name in out:
            return _sanitize_colliding(attributes)
        out[name] = value if type(value) is str else attribute_string(value)
    return out


#: Attribute keys to label names: a plain dict beats lru_cache in the hot loop.
_LABEL_NAMES: dict[str, str] = {}


def _sanitize_colliding(attributes: Mapping[str, Any]) -> dict[str, str]:
    grouped: dict[str, list[str]] = {}
    for key in sorted(attributes):
        name = naming.label_name(key)
        if name:
            grouped.setdefault(name, []).append(attribute_string(attributes[key]))
    return {name: ";".join(values) for name, values in grouped.items()}


@dataclass(slots=True)
class ResourceLabels:
    """What one resource contributes to its series."""

    #: ``job`` and ``instance``, set over whatever the point says
    identity: dict[str, str]
    #: the raw resource attributes that go under the point's own (conversion only)
    converted: Mapping[str, Any]
    #: the ``target_info`` labels, or None when the resource has nothing to say
    target: dict[str, str] | None


def resource_labels(resource: Resource, options: RenderOptions) -> ResourceLabels:
    attrs = resource.attributes
    identity: dict[str, str] = {}
    name = attrs.get("service.name")
    if name is not None:
        namespace = attrs.get("service.namespace")
        job = attribute_string(name)
        identity["job"] = f"{attribute_string(namespace)}/{job}" if namespace else job
    instance = attrs.get("service.instance.id")
    if instance is not None:
        identity["instance"] = attribute_string(instance)
    rest = {k: v for k, v in attrs.items() if k not in _SERVICE_KEYS}
    target = None
    if rest:
        target = sanitize_attributes(rest)
        target.update(identity)
    converted = attrs if options.resource_to_telemetry_conversion else {}
    return ResourceLabels(identity, converted, target)


def scope_labels(scope: Scope) -> dict[str, str]:
    """``otel_scope_*`` labels; attributes named like the fixed ones are dropped."""
    out: dict[str, str] = {}
    for key, value in sanitize_attributes(scope.attributes).items():
        if key not in ("name", "version", "schema_url"):
            out["otel_scope_" + key] = value
    if scope.name:
        out["otel_scope_name"] = scope.name
    if scope.version:
        out["otel_scope_version"] = scope.version
    return out


def family(metric: Metric, options: RenderOptions) -> Family | None:
    """The family a metric renders as, or None when Prometheus cannot hold it.

    Dropped, as the specification says: exponential histograms (no text
    format holds native histograms), delta or unspecified-temporality sums
    and histograms (the exporters accumulate deltas before they get here),
    and names with nothing valid in them.
    """
    mtype = metric.type
    if mtype is MetricType.EXPONENTIAL_HISTOGRAM:
        return None
    if mtype in (MetricType.SUM, MetricType.HISTOGRAM) and metric.temporality is not Temporality.CUMULATIVE:
        return None
    kind = naming.kind_of(mtype, metric.monotonic)
    strategy = options.translation_strategy
    name = naming.metric_name(metric.name, metric.unit, kind, options.namespace, strategy)
    if not name:
        return None
    if mtype is MetricType.SUM:
        ptype = "counter" if metric.monotonic else "gauge"
    elif mtype is MetricType.GAUGE:
        ptype = "unknown" if metric.metadata.get("prometheus.type") == "unknown" else "gauge"
    else:
        ptype = mtype.value
    unit_name = name[: -len("_total")] if ptype == "counter" and name.endswith("_total") else name
    return Family(name, ptype, metric.description, naming.unit_metadata(unit_name, metric.unit, strategy))


def series_labels(
    attributes: Mapping[str, Any],
    resource: ResourceLabels,
    scope: Mapping[str, str],
    const_labels: Mapping[str, str],
) -> dict[str, str]:
    """All labels of one point, by precedence: const < resource < point < scope < job/instance."""
    if resource.converted:
        labels = sanitize_attributes({**resource.converted, **attributes})
    else:
        labels = sanitize_attributes(attributes)
    labels.update(scope)
    labels.update(resource.identity)
    for key, value in const_labels.items():
        labels.setdefault(key, value)
    return labels

