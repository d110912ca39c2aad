"""Apply attribute edits to every resource and item of a batch, whatever its signal and form.

The one place that knows where attributes live: OTLP ``KeyValue`` lists on
log and trace batches, dicts on the metric model, and per-chunk mappings on
raw line chunks. Edits are plain functions over a ``dict``
(:data:`collector.processors.actions.Edit`), so ``attributes``,
``resource``, ``k8sattributes`` and ``resourcedetection`` share this code.

Raw line chunks stay chunks when no per-record match is needed, so the
``logs_to_metrics`` fast path still sees raw buffers after enrichment: a
chunk's resource and record attributes are shared by all its lines.
Ownership: the caller must own the batch (``mutates_data = True``); the
returned batch may be the same object, changed in place, or a new one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from collector.pdata import Batch, Logs, Metrics, Traces
from collector.pdata.anyvalue import attributes_from_proto, attributes_to_proto
from collector.processors.actions import Edit
from collector.processors.matching import Match


def edit_batch(batch: Batch, *, resource: Edit | None = None, item: Edit | None = None,
               match: Match | None = None) -> Batch:
    """Edit resource attributes and, where ``match`` allows, item (record, span, point) attributes."""
    if isinstance(batch, Metrics):
        _edit_metrics(batch, resource, item, match)
        return batch
    if isinstance(batch, Logs) and batch.chunks is not None and match is None:
        return _edit_chunks(batch, resource, item)
    batch.invalidate_serialized()
    if isinstance(batch, Logs):
        groups = ((rl.resource, rl.scope_logs, "log_records") for rl in batch.request.resource_logs)
    else:
        assert isinstance(batch, Traces)
        groups = ((rs.resource, rs.scope_spans, "spans") for rs in batch.request.resource_spans)
    for res, scopes, field in groups:
        if resource is not None:
            edit_proto(res.attributes, resource)
        if item is None:
            continue
        res_attrs = attributes_from_proto(res.attributes) if match is not None else {}
        for scope_items in scopes:
            scope = scope_items.scope
            for it in getattr(scope_items, field):
                if match is None or match(res_attrs, scope.name, scope.version, it):
                    edit_proto(it.attributes, item)
    return batch


def edit_proto(kvs: Any, edit: Edit) -> bool:
    """Edit an OTLP ``repeated KeyValue`` through a dict; rewritten only if something changed."""
    attrs = attributes_from_proto(kvs)
    if not edit(attrs):
        return False
    del kvs[:]
    kvs.extend(attributes_to_proto(attrs))
    return True


def _edit_chunks(batch: Logs, resource: Edit | None, item: Edit | None) -> Logs:
    chunks = []
    for chunk in batch.chunks or []:
        changes = {}
        for name, edit in (("resource", resource), ("attributes", item)):
            if edit is not None:
                attrs = dict(getattr(chunk, name))
                if edit(attrs):
                    changes[name] = attrs
        chunks.append(dataclasses.replace(chunk, **changes) if changes else chunk)
    return Logs(chunks=chunks, count=batch.item_count())


def _edit_metrics(batch: Metrics, resource: Edit | None, item: Edit | None, match: Match | None) -> None:
    batch.invalidate_serialized()
    for rm in batch.resource_metrics:
        if resource is not None:
            attrs = dict(rm.resource.attributes)
            if resource(attrs):
                rm.resource.attributes = attrs
        if item is None:
            continue
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if match is not None and not match(rm.resource.attributes, sm.scope.name, sm.scope.version, metric):
                    continue
                for point in metric.points:
                    attrs = dict(point.attributes)
                    if item(attrs):
                        point.attributes = attrs
