"""UCUM units (as OpenTelemetry writes them) to CloudWatch's unit names.

CloudWatch knows a closed set of units. A UCUM unit with an exact
counterpart maps to it; a few time units with none (``ns``, ``min``, ``h``,
``d``) are rescaled to one that exists, so a duration stays a duration;
annotations such as ``{requests}`` are counts; anything else becomes
``None``, which is what CloudWatch assumes for a missing unit.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class CloudWatchUnit(NamedTuple):
    name: str
    #: multiply values by this to express them in ``name``
    scale: float = 1.0


_EXACT = {
    "s": "Seconds", "ms": "Milliseconds", "us": "Microseconds", "µs": "Microseconds",
    "By": "Bytes", "kBy": "Kilobytes", "MBy": "Megabytes", "GBy": "Gigabytes", "TBy": "Terabytes",
    "KiBy": "Kilobytes", "MiBy": "Megabytes", "GiBy": "Gigabytes", "TiBy": "Terabytes",
    "bit": "Bits", "kbit": "Kilobits", "Mbit": "Megabits", "Gbit": "Gigabits", "Tbit": "Terabits",
    "Kibit": "Kilobits", "Mibit": "Megabits", "Gibit": "Gigabits", "Tibit": "Terabits",
    "%": "Percent", "1": "None", "": "None",
}
_RESCALED = {"ns": CloudWatchUnit("Microseconds", 1e-3), "min": CloudWatchUnit("Seconds", 60.0),
             "h": CloudWatchUnit("Seconds", 3600.0), "d": CloudWatchUnit("Seconds", 86400.0)}
_ANNOTATION = re.compile(r"^\{[^{}]*\}$")


def cloudwatch_unit(ucum: str) -> CloudWatchUnit:
    """The CloudWatch unit for a UCUM unit string, with the factor to apply to values."""
    unit = ucum.strip()
    exact = _EXACT.get(unit)
    if exact is not None:
        return CloudWatchUnit(exact)
    if unit in _RESCALED:
        return _RESCALED[unit]
    if _ANNOTATION.match(unit):
        return CloudWatchUnit("Count")
    numerator, slash, denominator = unit.partition("/")
    if slash and denominator == "s":
        if numerator == "1" or _ANNOTATION.match(numerator):
            return CloudWatchUnit("Count/Second")
        per = _EXACT.get(numerator)
        if per is not None and per not in ("None", "Percent", "Seconds", "Milliseconds", "Microseconds"):
            return CloudWatchUnit(per + "/Second")
    return CloudWatchUnit("None")
