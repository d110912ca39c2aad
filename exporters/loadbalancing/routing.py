"""Splitting a metrics batch by routing key, so that each stream always lands on the same backend.

The keys, as the OpenTelemetry Collector's loadbalancingexporter names them:

* ``service``: the resource's ``service.name``: a service's metrics stay together;
* ``resource``: the resource's attributes (all, or those in ``routing_attributes``);
* ``metric``: the metric name: every series of one metric on one backend, for
  aggregating a metric across services;
* ``streamID``: resource, scope, metric name and point attributes: one series.

A batch whose parts all go to one backend is passed on whole, keeping any
OTLP bytes it arrived as; otherwise the parts are new batches sharing the
original's (read-only) records.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Literal, Mapping, Sequence

import orjson

from collector.pdata import Metrics
from collector.pdata import metrics as m

RoutingKey = Literal["service", "resource", "metric", "streamID"]


def _encode(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=repr)


def _resource_key(rm: m.ResourceMetrics, attributes: Sequence[str]) -> bytes:
    attrs = rm.resource.attributes
    return _encode({k: attrs[k] for k in attributes if k in attrs} if attributes else attrs)


def split(batch: Metrics, key: RoutingKey, attributes: Sequence[str],
          owner: Callable[[bytes], str]) -> dict[str, Metrics]:
    """``batch`` by owning endpoint; ``owner`` maps a routing key's bytes to an endpoint."""
    if key in ("service", "resource"):
        names = ("service.name",) if key == "service" else attributes
        groups: dict[str, list[m.ResourceMetrics]] = {}
        for rm in batch.resource_metrics:
            groups.setdefault(owner(_resource_key(rm, names)), []).append(rm)
        if len(groups) == 1:
            return {next(iter(groups)): batch}
        return {endpoint: Metrics(rms) for endpoint, rms in groups.items()}
    parts: dict[str, dict[int, dict[int, list[m.Metric]]]] = {}
    for ri, rm in enumerate(batch.resource_metrics):
        resource = _encode(rm.resource.attributes) if key == "streamID" else b""
        for si, sm in enumerate(rm.scope_metrics):
            scope = _encode([sm.scope.name, sm.scope.version]) if key == "streamID" else b""
            for metric in sm.metrics:
                for endpoint, piece in _metric_parts(metric, key, resource + scope, owner).items():
                    parts.setdefault(endpoint, {}).setdefault(ri, {}).setdefault(si, []).append(piece)
    if len(parts) == 1:
        return {next(iter(parts)): batch}
    return {endpoint: _rebuild(batch, scopes) for endpoint, scopes in parts.items()}


def _metric_parts(metric: m.Metric, key: RoutingKey, prefix: bytes,
                  owner: Callable[[bytes], str]) -> Mapping[str, m.Metric]:
    name = metric.name.encode()
    if key == "metric":
        return {owner(name): metric}
    points: dict[str, list[m.Point]] = {}
    for point in metric.points:
        points.setdefault(owner(prefix + name + _encode(point.attributes)), []).append(point)
    if len(points) == 1:
        return {next(iter(points)): metric}
    return {endpoint: replace(metric, points=pts) for endpoint, pts in points.items()}


def _rebuild(batch: Metrics, scopes: dict[int, dict[int, list[m.Metric]]]) -> Metrics:
    rms = batch.resource_metrics
    return Metrics([
        replace(rms[ri], scope_metrics=[replace(rms[ri].scope_metrics[si], metrics=metrics)
                                        for si, metrics in by_scope.items()])
        for ri, by_scope in scopes.items()
    ])
