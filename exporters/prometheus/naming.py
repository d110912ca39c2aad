"""OpenTelemetry names to Prometheus names, by the compatibility specification.

Rules from the OpenTelemetry "Prometheus and OpenMetrics Compatibility"
specification (OTLP Metric points to Prometheus), with the unit table and
translation strategies of the OpenTelemetry Collector's translator, so a
user sees the names the Collector would give:

* characters outside ``[a-zA-Z0-9_:]`` (metrics) or ``[a-zA-Z0-9_]``
  (labels) become ``_``; runs of ``_`` collapse to one;
* a metric's unit becomes a suffix (``By`` -> ``_bytes``, ``By/s`` ->
  ``_bytes_per_second``), unless the name already holds it; ``{...}``
  annotations are dropped; ``1`` on a gauge becomes ``_ratio``;
* monotonic sums end in ``_total``;
* a label that starts with a digit gets ``key_``, one that starts with a
  single ``_`` gets ``key``.

Every function here is pure and memoized: names repeat on every scrape.
"""

from __future__ import annotations

import enum
import functools
import re

from collector.pdata.metrics import MetricType


class TranslationStrategy(str, enum.Enum):
    """How OpenTelemetry names become Prometheus names (the Collector's names)."""

    UNDERSCORE_ESCAPING_WITH_SUFFIXES = "UnderscoreEscapingWithSuffixes"
    UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES = "UnderscoreEscapingWithoutSuffixes"

    @property
    def add_suffixes(self) -> bool:
        return self is TranslationStrategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES


#: UCUM units to Prometheus base-unit words (the Collector's table).
UNIT_WORDS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds",
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes",
    "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
    "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}
#: The denominator of ``X/Y`` units, in the singular.
PER_UNIT_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}

_METRIC_TOKEN_SPLIT = re.compile(r"[^a-zA-Z0-9:]+")
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_UNDERSCORES = re.compile(r"__+")

#: What kind of Prometheus family a metric becomes, as far as naming cares.
COUNTER, GAUGE, OTHER = "counter", "gauge", "other"


def _tokens(text: str) -> list[str]:
    return [t for t in _METRIC_TOKEN_SPLIT.split(text) if t]


@functools.lru_cache(maxsize=4096)
def unit_suffix(unit: str) -> tuple[str, str]:
    """``("bytes", "second")`` for ``By/s``; empty strings for what has no word.

    Braced annotations (``{packets}``) carry no unit: a count of packets is
    unitless in Prometheus.
    """
    main, _, per = unit.partition("/")
    main, per = main.strip(), per.strip()
    main_word = "" if not main or "{" in main or "}" in main else UNIT_WORDS.get(main, main)
    per_word = "" if not per or "{" in per or "}" in per else PER_UNIT_WORDS.get(per, per)
    return "_".join(_tokens(main_word)), "_".join(_tokens(per_word))


@functools.lru_cache(maxsize=65536)
def metric_name(name: str, unit: str, kind: str, namespace: str, strategy: TranslationStrategy) -> str:
    """The Prometheus family name of a metric; ``kind`` is COUNTER, GAUGE or OTHER.

    Returns "" when nothing valid is left (a name of only symbols); the
    caller drops such a metric.
    """
    tokens = _tokens(name)
    if strategy.add_suffixes:
        main_word, per_word = unit_suffix(unit)
        if main_word and main_word not in tokens:
            tokens.append(main_word)
        if per_word and per_word not in tokens:
            tokens += ["per", per_word]
        if kind == COUNTER:
            tokens = [t for t in tokens if t != "total"] + ["total"]
        if unit == "1" and kind == GAUGE:
            tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    if not tokens:
        return ""
    if namespace:
        tokens = _tokens(namespace) + tokens
    out = "_".join(tokens)
    return "_" + out if out[0].isdigit() else out


@functools.lru_cache(maxsize=65536)
def label_name(key: str) -> str:
    """A valid Prometheus label name for an attribute key ("" for the empty key)."""
    out = _UNDERSCORES.sub("_", _INVALID_LABEL_CHARS.sub("_", key))
    if not out:
        return ""
    if out[0].isdigit():
        return "key_" + out
    if out[0] == "_":
        return "key" + out
    return out


def unit_metadata(family: str, unit: str, strategy: TranslationStrategy) -> str:
    """The OpenMetrics UNIT of a family, or "" when the name does not end with it.

    OpenMetrics requires a family with a UNIT to carry it as its suffix.
    """
    main_word, per_word = unit_suffix(unit)
    word = "_".join(w for w in (main_word, "per" if per_word else "", per_word) if w)
    if not word or not strategy.add_suffixes:
        return ""
    return word if family.endswith("_" + word) else ""


def kind_of(metric_type: MetricType, monotonic: bool) -> str:
    if metric_type is MetricType.SUM:
        return COUNTER if monotonic else GAUGE
    if metric_type is MetricType.GAUGE:
        return GAUGE
    return OTHER
