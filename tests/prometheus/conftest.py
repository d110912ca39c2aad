"""Shared helpers for the Prometheus exporter tests: builders and promtool."""

from __future__ import annotations

import logging
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from collector.component import Signal
from collector.pdata import metrics as m

if TYPE_CHECKING:
    from collector.component import Settings

PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian package 'prometheus')"
)

CUMULATIVE = m.Temporality.CUMULATIVE
DELTA = m.Temporality.DELTA
T0 = 1_700_000_000_000_000_000


def promtool_check(body: bytes, allowed_lints: tuple[str, ...] = ()) -> None:
    """Fail with promtool's words unless the text exposition parses and lints clean.

    ``allowed_lints`` names lint findings a test provokes on purpose (exit
    code 3 with only those); a parse error (exit code 1) always fails.
    """
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=20)
    report = (done.stdout + done.stderr).decode()
    findings = [line for line in report.splitlines() if not any(a in line for a in allowed_lints)]
    ok = done.returncode == 0 or (done.returncode == 3 and not findings)
    assert ok, report + "\n---\n" + body.decode()


def batch(*metrics: m.Metric, resource: dict[str, Any] | None = None,
          scope: m.Scope | None = None) -> m.Metrics:
    res = m.Resource(resource if resource is not None else {"service.name": "api", "service.instance.id": "i-1"})
    return m.Metrics([m.ResourceMetrics(res, [m.ScopeMetrics(scope or m.Scope("lib", "1.2"), list(metrics))])])


def counter(name: str, value: float | int, attrs: dict[str, Any] | None = None, *, unit: str = "",
            description: str = "a counter", temporality: m.Temporality = CUMULATIVE, t: int = T0 + 10**9,
            start: int = T0) -> m.Metric:
    return m.Metric(name, m.MetricType.SUM, [m.NumberPoint(attrs or {}, t, value, start)], description, unit,
                    temporality, True)


def gauge(name: str, value: float | int, attrs: dict[str, Any] | None = None, *, unit: str = "",
          description: str = "a gauge", t: int = T0 + 10**9) -> m.Metric:
    return m.Metric(name, m.MetricType.GAUGE, [m.NumberPoint(attrs or {}, t, value)], description, unit)


def histogram(name: str, bounds: tuple[float, ...], counts: list[int], total: float | None,
              attrs: dict[str, Any] | None = None, *, unit: str = "", description: str = "a histogram",
              temporality: m.Temporality = CUMULATIVE, t: int = T0 + 10**9, start: int = T0) -> m.Metric:
    point = m.HistogramPoint(attrs or {}, t, sum(counts), total, bounds, counts, start)
    return m.Metric(name, m.MetricType.HISTOGRAM, [point], description, unit, temporality)


def settings(name: str = "prometheus") -> "Settings":
    from collector.component import ComponentID, Kind, Settings
    from collector.telemetry import Telemetry

    cid = ComponentID.parse(name)
    return Settings(cid, Kind.EXPORTER, logging.getLogger(f"test.{cid}"),
                    Telemetry().for_component(cid, Kind.EXPORTER), frozenset({Signal.METRICS}))
