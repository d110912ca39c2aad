"""How long the Prometheus exposition of 100,000 series takes to render.

Run: ``python bench/prometheus_render.py [--series N] [--openmetrics]``.
The data is shaped like a busy collector's: 100 metrics (counters, gauges,
one histogram in ten) across 2 resources, each series with four attributes,
so the figure includes translation of names and labels, not only string
joins. A histogram point counts as its bucket, count and sum series.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from collector.pdata import metrics as m  # noqa: E402
from exporters.prometheus.render import render  # noqa: E402

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def make_batch(series: int) -> tuple[m.Metrics, int]:
    """A batch with about ``series`` Prometheus series; returns it and the exact count."""
    now = time.time_ns()
    resources = []
    total = 0
    per_resource = series // 2
    for r in range(2):
        metrics = []
        count = 0
        i = 0
        while count < per_resource:
            kind = i % 10
            points: list[m.Point] = []
            if kind == 9:
                n = min(100, max(1, (per_resource - count) // (len(BOUNDS) + 3)))
                for p in range(n):
                    attrs = {"http.route": f"/api/v1/items/{p}", "http.method": "GET", "status": 200, "zone": "a"}
                    counts = [p % 7 + 1] * (len(BOUNDS) + 1)
                    points.append(m.HistogramPoint(attrs, now, sum(counts), 12.5 * p, BOUNDS, counts, now - 10**9))
                count += n * (len(BOUNDS) + 3)
                metrics.append(m.Metric(f"http.server.duration.{i}", m.MetricType.HISTOGRAM, points,
                                        "request latency", "s", m.Temporality.CUMULATIVE))
            else:
                n = min(1000, per_resource - count)
                for p in range(n):
                    attrs = {"http.route": f"/api/v1/items/{p}", "http.method": "GET", "status": 200, "zone": "a"}
                    value = float(p) * 1.5 if kind % 2 else p * 3
                    points.append(m.NumberPoint(attrs, now, value, now - 10**9))
                count += n
                if kind % 2:
                    metrics.append(m.Metric(f"process.memory.{i}", m.MetricType.GAUGE, points, "memory", "By"))
                else:
                    metrics.append(m.Metric(f"http.requests.{i}", m.MetricType.SUM, points, "requests",
                                            "{request}", m.Temporality.CUMULATIVE, True))
            i += 1
        total += count
        resource = m.Resource({"service.name": f"svc{r}", "service.instance.id": f"i-{r}", "host.name": "h"})
        resources.append(m.ResourceMetrics(resource, [m.ScopeMetrics(m.Scope("bench", "1.0"), metrics)]))
    return m.Metrics(resources), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--openmetrics", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    batch, series = make_batch(args.series)
    timings = []
    size = 0
    for _ in range(args.repeat):
        started = time.perf_counter()
        size = len(render([batch], openmetrics=args.openmetrics))
        timings.append(time.perf_counter() - started)
    best, median = min(timings), sorted(timings)[len(timings) // 2]
    fmt = "OpenMetrics 1.0" if args.openmetrics else "text 0.0.4"
    print(f"rendered {series} series ({fmt}, {size / 1e6:.1f} MB): best {best * 1000:.0f} ms, "
          f"median {median * 1000:.0f} ms, {series / best / 1e6:.2f} M series/s")


if __name__ == "__main__":
    main()
