"""CloudWatch's rules for metric names, namespaces, dimensions, units and values.

Both routes into CloudWatch metrics obey them: PutMetricData rejects a whole
request that breaks one, and EMF extraction silently skips the metric. So
both exporters check every datum here before it leaves. Sources: the
CloudWatch API reference (MetricDatum, Dimension, PutMetricData) and the
embedded metric format specification.
"""

from __future__ import annotations

import math
import re

MAX_NAME = 255  # metric names, namespaces, dimension names
MAX_DIMENSION_VALUE = 1024
MAX_DIMENSIONS = 30
#: Values must lie within ±2^360; non-zero magnitudes below 2^-360 are rejected too.
MAX_MAGNITUDE = 2.0 ** 360
MIN_MAGNITUDE = 2.0 ** -360
STORAGE_RESOLUTIONS = (1, 60)

UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
})


_printable_ascii = re.compile(r"[ -~]*").fullmatch
_control = re.compile(r"[\x00-\x1f\x7f]").search


def namespace_problem(namespace: object) -> str | None:
    """Why ``namespace`` is not a valid CloudWatch namespace, or None."""
    if not isinstance(namespace, str) or not namespace.strip():
        return f"namespace {namespace!r} must be a non-blank string"
    if len(namespace) > MAX_NAME:
        return f"namespace {namespace[:40]!r}... is longer than {MAX_NAME} characters"
    if not _printable_ascii(namespace):
        return f"namespace {namespace!r} holds non-ASCII or control characters"
    if namespace.startswith(":"):
        return f"namespace {namespace!r} must not start with ':'"
    if namespace.startswith("AWS/"):
        return f"namespace {namespace!r} uses the 'AWS/' prefix reserved for AWS services"
    return None


def metric_name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return f"metric name {name!r} must be a non-blank string"
    if len(name) > MAX_NAME:
        return f"metric name {name[:40]!r}... is longer than {MAX_NAME} characters"
    if _control(name):
        return f"metric name {name!r} holds control characters"
    return None


def dimension_problem(name: object, value: object) -> str | None:
    """Why the dimension ``name=value`` would be rejected, or None."""
    if not isinstance(name, str) or not name.strip():
        return f"dimension name {name!r} must be a non-blank string"
    if len(name) > MAX_NAME:
        return f"dimension name {name[:40]!r}... is longer than {MAX_NAME} characters"
    if not _printable_ascii(name) or name.startswith(":"):
        return f"dimension name {name!r} must be printable ASCII not starting with ':'"
    if not isinstance(value, str) or not value.strip():
        return f"dimension {name!r} has a blank or non-string value {value!r}"
    if len(value) > MAX_DIMENSION_VALUE:
        return f"dimension {name!r} has a value longer than {MAX_DIMENSION_VALUE} characters"
    if not _printable_ascii(value):
        return f"dimension {name!r} has a value with non-ASCII or control characters"
    return None


def value_ok(value: float) -> bool:
    """Finite and inside CloudWatch's accepted magnitude range."""
    if not math.isfinite(value):
        return False
    magnitude = abs(value)
    return magnitude == 0 or MIN_MAGNITUDE <= magnitude <= MAX_MAGNITUDE
