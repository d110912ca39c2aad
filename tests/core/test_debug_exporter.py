"""The debug exporter's three verbosities, on each signal."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.component import ComponentID, Kind, Settings, Signal
from collector.pdata import Metrics, Traces
from collector.pdata import metrics as m
from collector.telemetry import Telemetry
from exporters.debug import DebugConfig, factory
from tests.core.components import logs


def exporter(verbosity: str):
    id = ComponentID("debug")
    settings = Settings(id, Kind.EXPORTER, logging.getLogger("fathom.exporter.debug"),
                        Telemetry().for_component(id, Kind.EXPORTER), frozenset(Signal))
    return factory.create(settings, DebugConfig(verbosity=verbosity))


def gauge() -> Metrics:
    metric = m.Metric("queue.depth", m.MetricType.GAUGE, [m.NumberPoint({"q": "a"}, 1, 7)], unit="{item}")
    return Metrics([m.ResourceMetrics(m.Resource({"service.name": "api"}), [m.ScopeMetrics(m.Scope("s"), [metric])])])


def traces() -> Traces:
    req = ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.name, span.trace_id, span.span_id = "GET /", b"\x01" * 16, b"\x02" * 8
    return Traces(req)


@pytest.mark.parametrize("verbosity, batch, expected", [
    ("basic", logs(2), "Logs: 2 items"),
    ("normal", logs(2), 'Logs: 2 items\nstring_value: "{\\"i\\": 0}"\nstring_value: "{\\"i\\": 1}"'),
    ("normal", gauge(), "Metrics: 1 items\nqueue.depth {'q': 'a'} 7"),
    ("detailed", gauge(), "Metrics: 1 items\nqueue.depth (gauge, unit='{item}', temporality=unspecified, "
                          "monotonic=False) resource={'service.name': 'api'} scope='s'\n  {'q': 'a'} 7"),
    ("normal", traces(), "Traces: 1 items\nGET / trace_id=" + "01" * 16 + " span_id=" + "02" * 8),
])
async def test_verbosity(caplog, verbosity, batch, expected):
    caplog.set_level(logging.INFO, "fathom.exporter.debug")
    debug = exporter(verbosity)
    await debug.start(None)
    await debug.consume(batch)
    await debug.shutdown()
    assert [r.getMessage() for r in caplog.records] == [expected]


async def test_detailed_logs_show_every_field(caplog):
    caplog.set_level(logging.INFO, "fathom.exporter.debug")
    debug = exporter("detailed")
    await debug.start(None)
    await debug.consume(logs(1))
    (record,) = caplog.records
    assert "resource_logs {" in record.getMessage() and 'string_value: "{\\"i\\": 0}"' in record.getMessage()
