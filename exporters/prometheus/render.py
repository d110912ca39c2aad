"""Metrics batches to the Prometheus text format 0.0.4 or OpenMetrics 1.0.

The one rendering mechanism of the collector: the ``prometheus`` exporter
serves it and so does the collector's own ``:8888/metrics``. It needs no
exporter instance::

    body = render([telemetry.collect()], openmetrics=om)

Names and labels come from :mod:`exporters.prometheus.translate`. Families
from different resources and scopes are merged so that HELP and TYPE appear
once per family; a metric whose name collides with a family of another type
is dropped (and logged once), as the specification requires. Exemplars and
``_created`` samples exist only in OpenMetrics, which the text format cannot
carry. The loop is written for speed: 100,000 series render in a fraction
of a second (``bench/prometheus_render.py``).
"""

from __future__ import annotations

import bisect
import logging
from typing import Any, Callable, Iterable, Mapping

from collector.pdata.metrics import (
    FLAG_NO_RECORDED_VALUE,
    Exemplar,
    HistogramPoint,
    Metric,
    Metrics,
    MetricType,
    SummaryPoint,
)
from exporters.prometheus.naming import label_name as _label_name
from exporters.prometheus.translate import (
    attribute_string,
    Family,
    RenderOptions,
    family,
    format_float,
    resource_labels,
    sanitize_attributes,
    scope_labels,
)

__all__ = ["CONTENT_TYPE_OPENMETRICS", "CONTENT_TYPE_TEXT", "RenderOptions", "negotiate", "render"]

CONTENT_TYPE_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"

_log = logging.getLogger(__name__)
#: Labels a family type sets itself; a point's own are dropped in their favour.
_RESERVED = {MetricType.HISTOGRAM: {"le"}, MetricType.SUMMARY: {"quantile"}}
#: OpenMetrics caps an exemplar's label names and values at 128 characters.
_EXEMPLAR_LABEL_LIMIT = 128


def negotiate(accept_header: str | None) -> tuple[bool, str]:
    """Pick the format an ``Accept`` header prefers: ``(openmetrics, content_type)``.

    OpenMetrics is chosen when ``application/openmetrics-text`` (version
    1.0.0 or unversioned) is accepted at least as much as ``text/plain``;
    anything else, including no header, gets the text format.
    """
    om_q = text_q = 0.0
    for media_range in (accept_header or "").split(","):
        kind, *params = (p.strip() for p in media_range.split(";"))
        kind = kind.lower()
        q, version = 1.0, None
        for param in params:
            key, _, value = param.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif key == "version":
                version = value
        if kind == "application/openmetrics-text" and version in (None, "1.0.0"):
            om_q = max(om_q, q)
        elif kind in ("text/plain", "text/*", "*/*") and version in (None, "0.0.4"):
            text_q = max(text_q, q)
    if om_q > 0 and om_q >= text_q:
        return True, CONTENT_TYPE_OPENMETRICS
    return False, CONTENT_TYPE_TEXT


def render(batches: Iterable[Metrics], *, openmetrics: bool = False, options: RenderOptions | None = None) -> bytes:
    """Render batches as one exposition, UTF-8 encoded.

    The batches are read, never changed. What Prometheus cannot hold is
    left out: exponential histograms, delta sums and histograms (accumulate
    them first), points flagged as having no recorded value.
    """
    writer = _Writer(options or RenderOptions(), openmetrics)
    for batch in batches:
        writer.add(batch)
    return writer.finish()


def _label_text(labels: dict[str, str]) -> str:
    parts = []
    for key, value in labels.items():
        if '"' in value or "\\" in value or "\n" in value:
            value = _escape_value(value)
        parts.append(f'{key}="{value}"')
    return ",".join(parts)


#: Value types that %s writes exactly as the attribute spec does (bool is not int here).
_AS_IS = {str, int}


def _escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _plan(keys: tuple[str, ...], reserved: set[str]) -> tuple[str, ...] | None:
    """Label names for attribute keys, or None when they need the careful path:
    a key with no valid name, two keys with one name, or a reserved name."""
    names = tuple(_label_name(key) for key in keys)
    if "" in names or len(set(names)) != len(names) or reserved.intersection(names):
        return None
    return names


def _value_text(value: float | int) -> str:
    return str(value) if type(value) is int else format_float(value)


class _FamilyLines:
    __slots__ = ("family", "lines")

    def __init__(self, family: Family) -> None:
        self.family = family
        self.lines: list[str] = []


class _Writer:
    """Accumulates sample lines per family, then writes headers and lines."""

    def __init__(self, options: RenderOptions, openmetrics: bool) -> None:
        self.options = options
        self.openmetrics = openmetrics
        self.families: dict[str, _FamilyLines] = {}
        self.targets: dict[tuple[str, str], dict[str, str]] = {}
        self.const_labels = sanitize_attributes(options.const_labels)
        #: per set of reserved label names: attribute keys -> label names (None: slow path)
        self._plans: dict[frozenset[str], dict[tuple[str, ...], tuple[str, ...] | None]] = {}

    def add(self, batch: Metrics) -> None:
        options = self.options
        for rm in batch.resource_metrics:
            resource = resource_labels(rm.resource, options)
            if resource.target is not None:
                identity = (resource.identity.get("job", ""), resource.identity.get("instance", ""))
                self.targets.setdefault(identity, resource.target)
            for sm in rm.scope_metrics:
                over = {**scope_labels(sm.scope), **resource.identity}
                for metric in sm.metrics:
                    fam = family(metric, options)
                    if fam is not None:
                        out = self._family_lines(fam, metric)
                        if out is not None:
                            self._points(out, metric, resource.converted, over)

    def _family_lines(self, fam: Family, metric: Metric) -> _FamilyLines | None:
        key = self._family_name(fam)
        out = self.families.get(key)
        if out is None:
            out = self.families[key] = _FamilyLines(fam)
        elif out.family.type != fam.type:
            _warn_once(f"dropped metric {metric.name!r}: its Prometheus name {fam.name!r} is already "
                       f"a {out.family.type}, not a {fam.type}")
            return None
        return out

    def _family_name(self, fam: Family) -> str:
        if self.openmetrics and fam.type == "counter" and fam.name.endswith("_total"):
            return fam.name[: -len("_total")]
        return fam.name

    def _points(self, out: _FamilyLines, metric: Metric, converted: dict, over: dict[str, str]) -> None:
        name = out.family.name
        lines = out.lines
        om = self.openmetrics
        stamps = self.options.send_timestamps
        mtype = metric.type
        counter = out.family.type == "counter"
        if om and counter and not name.endswith("_total"):
            name += "_total"  # OpenMetrics counter samples must end in _total
        labeller = self._labeller(over, mtype)
        for point in metric.points:
            if point.flags & FLAG_NO_RECORDED_VALUE:
                continue
            text = labeller(point.attributes, converted)
            ts = ""
            if stamps:
                ts = f" {point.time_ns / 1e9:.3f}" if om else f" {point.time_ns // 1_000_000}"
            if mtype is MetricType.HISTOGRAM:
                assert isinstance(point, HistogramPoint)
                self._histogram(lines, name, text, point, ts)
                continue
            if mtype is MetricType.SUMMARY:
                assert isinstance(point, SummaryPoint)
                self._summary(lines, name, text, point, ts)
                continue
            value = point.value  # type: ignore[union-attr]
            value = str(value) if type(value) is int else format_float(value)
            exemplar = ""
            if om and counter and point.exemplars:  # type: ignore[union-attr]
                exemplar = _exemplar_text(max(point.exemplars, key=_exemplar_value))  # type: ignore[union-attr]
            lines.append(f"{name}{{{text}}} {value}{ts}{exemplar}\n" if text else f"{name} {value}{ts}{exemplar}\n")
            if om and counter and point.start_time_ns:
                self._created(lines, name[: -len("_total")], text, point.start_time_ns)

    def _labeller(self, over: dict[str, str], mtype: MetricType) -> Callable[[Mapping[str, Any], Mapping[str, Any]], str]:
        """The label text of a point's attributes under one resource and scope.

        The labels every point of the scope shares are written once; a
        point's own attributes take a fast path unless their names collide
        with each other or with the shared ones, which is rare.
        """
        const = self.const_labels
        fixed = {**const, **over}
        fixed_text = _label_text(fixed)
        reserved = set(fixed) | _RESERVED.get(mtype, set())
        plans = self._plans.setdefault(frozenset(reserved), {})

        def slow(attrs: Mapping[str, Any], converted: Mapping[str, Any]) -> str:
            labels = sanitize_attributes({**converted, **attrs} if converted else attrs)
            labels.update(over)
            for key, value in const.items():
                labels.setdefault(key, value)
            for key in _RESERVED.get(mtype, ()):
                labels.pop(key, None)
            return _label_text(labels)

        templates: dict[tuple[str, ...], tuple[str, int] | None] = {}

        def template_for(keys: tuple[str, ...]) -> tuple[str, int] | None:
            names = plans.get(keys, False)
            if names is False:
                names = plans[keys] = _plan(keys, reserved)
            if names is None:
                return None
            parts = [f'{label}="%s"' for label in names]
            if fixed_text:
                parts.append(fixed_text.replace("%", "%%"))
            return ",".join(parts), fixed_text.count('"') + 2 * len(names)

        def labeller(attrs: Mapping[str, Any], converted: Mapping[str, Any]) -> str:
            # One %-format per point; values needing escapes are rare and redone one by one.
            if converted:
                return slow(attrs, converted)
            keys = tuple(attrs)
            plan = templates.get(keys, False)
            if plan is False:
                plan = templates[keys] = template_for(keys)
            if plan is None:
                return slow(attrs, converted)
            template, quotes = plan
            values = tuple(attrs.values())
            if not _AS_IS.issuperset(map(type, values)):
                values = tuple([v if type(v) is str else attribute_string(v) for v in values])
            text = template % values
            if "\\" in text or "\n" in text or text.count('"') != quotes:
                text = template % tuple([_escape_value(v) for v in values])
            return text

        return labeller

    def _histogram(self, lines: list[str], name: str, text: str, point: HistogramPoint, ts: str) -> None:
        prefix = text + "," if text else ""
        exemplars = _bucket_exemplars(point) if self.openmetrics and point.exemplars else None
        cumulative = 0
        counts = point.bucket_counts
        for i, bound in enumerate(point.bounds):
            cumulative += counts[i]
            ex = _exemplar_text(exemplars[i]) if exemplars and exemplars[i] else ""
            lines.append(f'{name}_bucket{{{prefix}le="{format_float(bound)}"}} {cumulative}{ts}{ex}\n')
        ex = _exemplar_text(exemplars[-1]) if exemplars and exemplars[-1] else ""
        lines.append(f'{name}_bucket{{{prefix}le="+Inf"}} {point.count}{ts}{ex}\n')
        self._count_sum(lines, name, text, point.count, point.sum, ts, point.start_time_ns)

    def _summary(self, lines: list[str], name: str, text: str, point: SummaryPoint, ts: str) -> None:
        prefix = text + "," if text else ""
        for quantile, value in sorted(point.quantiles):
            lines.append(f'{name}{{{prefix}quantile="{format_float(quantile)}"}} {_value_text(value)}{ts}\n')
        self._count_sum(lines, name, text, point.count, point.sum, ts, point.start_time_ns)

    def _count_sum(self, lines: list[str], name: str, text: str, count: int, total: float | None, ts: str,
                   start_time_ns: int) -> None:
        braces = "{" + text + "}" if text else ""
        lines.append(f"{name}_count{braces} {count}{ts}\n")
        # The sum is left out when the point has none: OTLP leaves it unset
        # when negative values make it meaningless for a rate.
        if total is not None:
            lines.append(f"{name}_sum{braces} {_value_text(total)}{ts}\n")
        if self.openmetrics and start_time_ns:
            self._created(lines, name, text, start_time_ns)

    @staticmethod
    def _created(lines: list[str], family_name: str, text: str, start_time_ns: int) -> None:
        braces = "{" + text + "}" if text else ""
        lines.append(f"{family_name}_created{braces} {start_time_ns / 1e9:.3f}\n")

    def finish(self) -> bytes:
        om = self.openmetrics
        parts: list[str] = []
        if self.targets:
            parts.append("# HELP target Target metadata\n# TYPE target info\n" if om
                         else "# HELP target_info Target metadata\n# TYPE target_info gauge\n")
            for labels in self.targets.values():
                parts.append(f"target_info{{{_label_text(labels)}}} 1\n")
        for key, out in self.families.items():
            fam = out.family
            if fam.help:
                parts.append(f"# HELP {key} {_escape_help(fam.help, om)}\n")
            if om:
                parts.append(f"# TYPE {key} {fam.type}\n")
                if fam.unit:
                    parts.append(f"# UNIT {key} {fam.unit}\n")
            else:
                parts.append(f"# TYPE {key} {'untyped' if fam.type == 'unknown' else fam.type}\n")
            parts.extend(out.lines)
        if om:
            parts.append("# EOF\n")
        return "".join(parts).encode("utf-8", "replace")


def _escape_help(text: str, openmetrics: bool) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if openmetrics else text


def _exemplar_value(exemplar: Exemplar) -> float:
    return float(exemplar.value)


def _bucket_exemplars(point: HistogramPoint) -> list[Exemplar | None]:
    """One exemplar per bucket, by the specification: the largest that falls in it,
    else the one carried up from a lower bucket."""
    best: list[Exemplar | None] = [None] * (len(point.bounds) + 1)
    for exemplar in point.exemplars:
        i = bisect.bisect_left(point.bounds, float(exemplar.value))
        current = best[i]
        if current is None or float(exemplar.value) > float(current.value):
            best[i] = exemplar
    for i in range(1, len(best)):
        if best[i] is None:
            best[i] = best[i - 1]
    return best


def _exemplar_text(exemplar: Exemplar) -> str:
    labels: dict[str, str] = {}
    if exemplar.trace_id:
        labels["trace_id"] = exemplar.trace_id.hex()
    if exemplar.span_id:
        labels["span_id"] = exemplar.span_id.hex()
    extra = sanitize_attributes(exemplar.filtered_attributes)
    merged = {**extra, **labels}
    if sum(len(k) + len(v) for k, v in merged.items()) <= _EXEMPLAR_LABEL_LIMIT:
        labels = merged
    stamp = f" {exemplar.time_ns / 1e9:.3f}" if exemplar.time_ns else ""
    return f" # {{{_label_text(labels)}}} {_value_text(exemplar.value)}{stamp}"


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Conflicts repeat on every scrape: say each once (bounded, so names cannot grow it forever)."""
    if message not in _warned and len(_warned) < 1000:
        _warned.add(message)
        _log.warning(message)

