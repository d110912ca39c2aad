"""The embedded metric format's rules, checked on a decoded EMF document.

Written to move to ``collector/emf.py``, the validator the ``emf`` log parser
shares: it depends only on :mod:`exporters.aws.rules` (CloudWatch's own
naming rules, which would move along). CloudWatch stores an EMF event that
breaks these rules but extracts no metric from it, so the exporter checks
every event it builds and drops (and counts) what fails, rather than send it
to be silently ignored.

Beyond the specification's number and number-array targets, a target may be
the distribution or statistic-set object that CloudWatch extracts
(``{"Values", "Counts", "Min", "Max", "Sum", "Count"}``), as the CloudWatch
agent and the OpenTelemetry Collector send histograms.
"""

from __future__ import annotations

from typing import Any, Mapping

from exporters.aws import rules

MAX_METRICS_PER_DIRECTIVE = 100
MAX_DIMENSIONS_PER_SET = rules.MAX_DIMENSIONS
MAX_VALUES_PER_ARRAY = 100
#: The largest log event CloudWatch extracts metrics from, counting the 26 bytes PutLogEvents adds.
MAX_EVENT_BYTES = 256 * 1024
EVENT_OVERHEAD_BYTES = 26
_STATISTICS = ("Min", "Max", "Sum", "Count")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_ok(value: Any) -> bool:
    return _is_number(value) and rules.value_ok(float(value))


def event_size_problem(message: bytes) -> str | None:
    size = len(message) + EVENT_OVERHEAD_BYTES
    if size > MAX_EVENT_BYTES:
        return f"event is {size} bytes with PutLogEvents' overhead, over the {MAX_EVENT_BYTES}-byte limit"
    return None


def target_problem(name: str, value: Any) -> str | None:
    """Why the root member a MetricDefinition names cannot be extracted, or None."""
    if _is_number(value):
        return None if _number_ok(value) else f"metric {name!r}: value {value!r} is not finite or out of range"
    if isinstance(value, list):
        if not value or len(value) > MAX_VALUES_PER_ARRAY:
            return f"metric {name!r}: an array must hold 1 to {MAX_VALUES_PER_ARRAY} values, not {len(value)}"
        if not all(_number_ok(v) for v in value):
            return f"metric {name!r}: every array member must be a finite number"
        return None
    if isinstance(value, dict):
        missing = [k for k in _STATISTICS if not _number_ok(value.get(k))]
        if missing:
            return f"metric {name!r}: the object lacks a finite {', '.join(missing)}"
        if value["Count"] <= 0:
            return f"metric {name!r}: Count must be positive"
        extra = set(value) - {"Values", "Counts", *_STATISTICS}
        if extra:
            return f"metric {name!r}: unknown members {sorted(extra)}"
        if ("Values" in value) != ("Counts" in value):
            return f"metric {name!r}: Values and Counts go together"
        if "Values" in value:
            values, counts = value["Values"], value["Counts"]
            if not isinstance(values, list) or not isinstance(counts, list) or len(values) != len(counts):
                return f"metric {name!r}: Values and Counts must be arrays of equal length"
            for label, array in (("Values", values), ("Counts", counts)):
                problem = target_problem(f"{name}.{label}", array)
                if problem:
                    return problem
        return None
    return f"metric {name!r}: target must be a number, an array of numbers or a statistics object, not {type(value).__name__}"


def validate(doc: Any) -> list[str]:
    """Every way ``doc`` (a decoded EMF event) breaks the specification; empty if none."""
    if not isinstance(doc, Mapping):
        return ["the event is not a JSON object"]
    meta = doc.get("_aws")
    if not isinstance(meta, Mapping):
        return ["_aws: missing or not an object"]
    problems = []
    stamp = meta.get("Timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
        problems.append(f"_aws.Timestamp: {stamp!r} is not a non-negative integer of milliseconds")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        return problems + ["_aws.CloudWatchMetrics: missing or not an array"]
    for i, directive in enumerate(directives):
        problems.extend(f"_aws.CloudWatchMetrics[{i}]: {p}" for p in _directive_problems(doc, directive))
    return problems


def _directive_problems(doc: Mapping[str, Any], directive: Any) -> list[str]:
    if not isinstance(directive, Mapping):
        return ["not an object"]
    problems = []
    namespace_problem = rules.namespace_problem(directive.get("Namespace"))
    if namespace_problem:
        problems.append(namespace_problem)
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list) or not dimension_sets:
        problems.append("Dimensions: must be a non-empty array of dimension sets")
        dimension_sets = []
    for j, dimension_set in enumerate(dimension_sets):
        if not isinstance(dimension_set, list):
            problems.append(f"Dimensions[{j}]: not an array")
            continue
        if len(dimension_set) > MAX_DIMENSIONS_PER_SET:
            problems.append(f"Dimensions[{j}]: {len(dimension_set)} keys, over {MAX_DIMENSIONS_PER_SET}")
        for key in dimension_set:
            if not isinstance(key, str) or key not in doc:
                problems.append(f"Dimensions[{j}]: {key!r} is not a member of the root")
                continue
            problem = rules.dimension_problem(key, doc[key])
            if problem:
                problems.append(f"Dimensions[{j}]: {problem}")
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list):
        return problems + ["Metrics: missing or not an array"]
    if len(metrics) > MAX_METRICS_PER_DIRECTIVE:
        problems.append(f"Metrics: {len(metrics)} definitions, over {MAX_METRICS_PER_DIRECTIVE}")
    names = set()
    for k, definition in enumerate(metrics):
        if not isinstance(definition, Mapping):
            problems.append(f"Metrics[{k}]: not an object")
            continue
        name = definition.get("Name")
        problem = rules.metric_name_problem(name)
        if problem:
            problems.append(f"Metrics[{k}]: {problem}")
            continue
        if name in names:
            problems.append(f"Metrics[{k}]: {name!r} is defined twice")
        names.add(name)
        unit = definition.get("Unit", "None")
        if unit not in rules.UNITS:
            problems.append(f"Metrics[{k}]: unit {unit!r} is not a CloudWatch unit")
        resolution = definition.get("StorageResolution", 60)
        if resolution not in rules.STORAGE_RESOLUTIONS or isinstance(resolution, bool):
            problems.append(f"Metrics[{k}]: StorageResolution {resolution!r} must be 1 or 60")
        if name not in doc:
            problems.append(f"Metrics[{k}]: {name!r} is not a member of the root")
            continue
        problem = target_problem(name, doc[name])
        if problem:
            problems.append(f"Metrics[{k}]: {problem}")
    return problems
