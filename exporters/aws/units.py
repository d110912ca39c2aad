"""UCUM units (as OpenTelemetry writes them) to CloudWatch's unit names.

CloudWatch knows a closed set of units; the exact UCUM counterparts are
:data:`collector.emf.UNIT_BY_UCUM`, shared with the ``emf`` parser. On top
of them the exporters accept what OpenTelemetry producers also write:
binary prefixes (``KiBy`` as ``Kilobytes``), ``µs``, and ``1`` (a ratio,
so ``None``); a few time units with no counterpart (``ns``, ``min``, ``h``,
``d``) are rescaled to one that exists, so a duration stays a duration;
any annotation such as ``{requests}`` is a count, and ``<unit>/s`` a rate
where CloudWatch has ``<unit>/Second``; anything else becomes ``None``,
which is what CloudWatch assumes for a missing unit.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from collector import emf


class CloudWatchUnit(NamedTuple):
    name: str
    #: multiply values by this to express them in ``name``
    scale: float = 1.0


_EXACT = {
    **emf.UNIT_BY_UCUM, "µs": "Microseconds", "1": "None",
    "KiBy": "Kilobytes", "MiBy": "Megabytes", "GiBy": "Gigabytes", "TiBy": "Terabytes",
    "Kibit": "Kilobits", "Mibit": "Megabits", "Gibit": "Gigabits", "Tibit": "Terabits",
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
        per = "Count" if numerator == "1" or _ANNOTATION.match(numerator) else _EXACT.get(numerator)
        if per is not None and per + "/Second" in emf.UNITS:
            return CloudWatchUnit(per + "/Second")
    return CloudWatchUnit("None")
