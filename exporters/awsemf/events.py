"""Datums to EMF log events that satisfy the specification, or counted drops.

Points with the same namespace, timestamp and dimensions share an event:
their values sit at the root beside the dimension values, and one directive
per distinct choice of dimension sets names them. An event holds at most
100 metric definitions and never the same name twice (a split histogram's
parts go to separate events). An event over the size limit is split in two
until it fits; a single metric that cannot fit, or any event the validator
(:func:`collector.emf.validate`, with distributions) refuses, is dropped and
counted with its reason.

A datum's own namespace and storage resolution (EMF identity carried from
the ``emf`` parser, see :mod:`exporters.aws.datums`) win over the
configured ones, so an EMF event read in goes out under the same metric.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from collector import emf
from exporters.aws.config import routed
from exporters.aws.datums import Datum, Distribution, ResourceDatums, StatisticSet
from exporters.awsemf.config import AwsEmfConfig
from exporters.awsemf.dimensions import DimensionSelector, DimensionSets
from exporters.awsemf.naming import fill, log_group_problem, log_stream_problem

Partition = tuple[str, str]  # (log group, log stream)


@dataclass(slots=True)
class LogEvent:
    timestamp: int  # milliseconds since the epoch
    message: str
    size: int  # UTF-8 bytes of message
    points: int  # datums it carries, for counting drops


def emf_value(value: float | Distribution | StatisticSet) -> Any:
    if isinstance(value, Distribution):
        return {"Values": value.values, "Counts": value.counts, "Max": value.max, "Min": value.min,
                "Count": value.count, "Sum": value.sum}
    if isinstance(value, StatisticSet):
        return {"Max": value.max, "Min": value.min, "Count": value.count, "Sum": value.sum}
    return value


class EventBuilder:
    def __init__(self, config: AwsEmfConfig) -> None:
        self._config = config
        self._selector = DimensionSelector(config)

    def build(self, resources: list[ResourceDatums], dropped: Counter[str]) -> dict[Partition, list[LogEvent]]:
        """Events by (log group, log stream); what cannot be sent is added to ``dropped``."""
        # (partition, namespace, time, dimensions, dimension sets) -> events' metrics, name -> datum
        slots: dict[tuple, list[dict[str, Datum]]] = {}
        for group in resources:
            partition = (fill(self._config.log_group_name, group.resource),
                         fill(self._config.log_stream_name, group.resource))
            reason = ("invalid_log_group" if log_group_problem(partition[0]) else
                      "invalid_log_stream" if log_stream_problem(partition[1]) else None)
            if reason:
                dropped[reason] += len(group.datums)
                continue
            for namespace, datum in routed(group, self._config.namespace, dropped):
                if datum.name == "_aws" or datum.name in datum.dimensions:
                    dropped["name_collides_with_dimension"] += 1
                    continue
                selection = self._selector.select(datum.name, datum.dimensions)
                if selection is None:
                    dropped["not_declared"] += 1
                    continue
                if selection.oversized:
                    dropped["dimension_set_over_30"] += 1
                if not selection.sets:
                    dropped["no_dimension_set"] += 1
                    continue
                key = (partition, namespace, datum.time_ms, tuple(sorted(datum.dimensions.items())), selection.sets)
                events = slots.setdefault(key, [])
                for metrics in events:
                    if datum.name not in metrics and len(metrics) < emf.MAX_METRICS_PER_DIRECTIVE:
                        metrics[datum.name] = datum
                        break
                else:
                    events.append({datum.name: datum})
        out: dict[Partition, list[LogEvent]] = {}
        for (partition, namespace, time_ms, dims, sets), events in slots.items():
            target = out.setdefault(partition, [])
            for metrics in events:
                self._emit(namespace, time_ms, dict(dims), sets, list(metrics.values()), target, dropped)
        return out

    def _emit(self, namespace: str, time_ms: int, dims: dict[str, str], sets: DimensionSets,
              datums: list[Datum], out: list[LogEvent], dropped: Counter[str]) -> None:
        doc: dict[str, Any] = dict(dims)
        definitions = []
        for datum in datums:
            definition: dict[str, Any] = {"Name": datum.name, "Unit": datum.unit}
            resolution = datum.storage_resolution or self._config.storage_resolution
            if resolution != emf.DEFAULT_STORAGE_RESOLUTION:
                definition["StorageResolution"] = resolution
            definitions.append(definition)
            doc[datum.name] = emf_value(datum.value)
        doc["_aws"] = {"Timestamp": time_ms, "CloudWatchMetrics": [
            {"Namespace": namespace, "Dimensions": [list(s) for s in sets], "Metrics": definitions}]}
        message = orjson.dumps(doc)
        if emf.event_size_problem(message):
            if len(datums) == 1:
                dropped["event_too_large"] += 1
                return
            half = len(datums) // 2
            self._emit(namespace, time_ms, dims, sets, datums[:half], out, dropped)
            self._emit(namespace, time_ms, dims, sets, datums[half:], out, dropped)
            return
        if emf.validate(doc, allow_distributions=True):
            dropped["invalid_emf"] += len(datums)
            return
        out.append(LogEvent(time_ms, message.decode(), len(message), len(datums)))
