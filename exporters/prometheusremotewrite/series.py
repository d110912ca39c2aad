"""Metrics batches to remote-write time series, named and labelled as the scrape endpoint does.

Translation is :mod:`exporters.prometheus.translate`, shared with the pull
exporter, so a metric has the same name and labels whichever way it
reaches Prometheus. Histograms become ``_bucket`` (cumulative, with
``+Inf``), ``_count`` and ``_sum`` series; summaries their quantiles; a
point with no recorded value becomes Prometheus's staleness marker;
``target_info`` is sent once per resource and batch, with its newest timestamp.
"""

from __future__ import annotations

from typing import Iterator

from collector.pdata.metrics import FLAG_NO_RECORDED_VALUE, HistogramPoint, Metrics, MetricType, SummaryPoint
from exporters.prometheus.translate import (
    RenderOptions,
    family,
    format_float,
    resource_labels,
    sanitize_attributes,
    scope_labels,
    series_labels,
)
from exporters.prometheusremotewrite.proto import STALE_NAN, encode_series


def encoded_series(batch: Metrics, options: RenderOptions, target_info: bool) -> Iterator[bytes]:
    """Each series of the batch, encoded as a ``WriteRequest.timeseries`` field."""
    const = sanitize_attributes(options.const_labels)
    for rm in batch.resource_metrics:
        resource = resource_labels(rm.resource, options)
        newest = 0
        for sm in rm.scope_metrics:
            scope = scope_labels(sm.scope)
            for metric in sm.metrics:
                fam = family(metric, options)
                if fam is None:
                    continue
                for point in metric.points:
                    newest = max(newest, point.time_ns)
                    labels = series_labels(point.attributes, resource, scope, const)
                    ms = point.time_ns // 1_000_000
                    stale = bool(point.flags & FLAG_NO_RECORDED_VALUE)
                    if metric.type is MetricType.HISTOGRAM:
                        assert isinstance(point, HistogramPoint)
                        labels.pop("le", None)
                        cumulative = 0
                        for bound, count in zip(point.bounds, point.bucket_counts):
                            cumulative += count
                            yield _one(fam.name + "_bucket", {**labels, "le": format_float(bound)},
                                       STALE_NAN if stale else cumulative, ms)
                        yield _one(fam.name + "_bucket", {**labels, "le": "+Inf"}, STALE_NAN if stale else point.count, ms)
                        yield from _count_sum(fam.name, labels, point.count, point.sum, ms, stale)
                    elif metric.type is MetricType.SUMMARY:
                        assert isinstance(point, SummaryPoint)
                        labels.pop("quantile", None)
                        for quantile, value in point.quantiles:
                            yield _one(fam.name, {**labels, "quantile": format_float(quantile)},
                                       STALE_NAN if stale else value, ms)
                        yield from _count_sum(fam.name, labels, point.count, point.sum, ms, stale)
                    else:
                        yield _one(fam.name, labels, STALE_NAN if stale else point.value, ms)  # type: ignore[union-attr]
        if target_info and resource.target is not None and newest:
            # external labels name the sender, so they go on target_info too
            yield _one("target_info", {**const, **resource.target}, 1, newest // 1_000_000)


def _count_sum(name: str, labels: dict[str, str], count: int, total: float | None, ms: int,
               stale: bool) -> Iterator[bytes]:
    yield _one(name + "_count", labels, STALE_NAN if stale else count, ms)
    if total is not None:
        yield _one(name + "_sum", labels, STALE_NAN if stale else total, ms)


def _one(name: str, labels: dict[str, str], value: float, ms: int) -> bytes:
    pairs = sorted({**labels, "__name__": name}.items())
    return encode_series(pairs, [(float(value), ms)])
