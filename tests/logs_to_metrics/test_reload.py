"""Series survive a reload: the connector hands them to its successor instead of flushing or dropping them."""

from __future__ import annotations

import signal
import textwrap
import time
import urllib.request

import pytest

from collector.component import Signal
from collector.connectors.logs_to_metrics import factory
from collector.connectors.logs_to_metrics.connector import DROPPED_ON_RELOAD
from collector.pdata import LineChunk, Logs
from collector.service import Service
from tests.conftest import free_port
from tests.core.components import Recorder, Source
from tests.core.conftest import _clean, registry, resolve_text  # noqa: F401  (fixtures)

from .conftest import Sink, config, settings
from .test_connector import points

pytestmark = pytest.mark.usefixtures("json_twin")  # the compiled twin hands over the series its tables hold

RULES = """
flush_interval: 1h
temporality: %s
metrics:
  - {name: hits, type: counter, dimensions: [k]}
  - {name: size, type: counter, value: n, unit: By, dimensions: [k]}
"""


def lines(*records: bytes) -> Logs:
    return Logs(chunks=[LineChunk(b"\n".join(records), len(records))])


async def hand_over(cfg_old, cfg_new, before: Logs, after: Logs | None = None):
    """An old connector consumes ``before`` and hands over to a new one; what the new one then emits."""
    sink, new_settings = Sink(), settings()
    old = factory.create(settings(), cfg_old, {Signal.METRICS: sink})
    await old.start(None)
    await old.consume(before)
    state = await old.hand_over()
    new = factory.create(new_settings, cfg_new, {Signal.METRICS: sink})
    new.take_over(state)
    assert sink.batches == [], "a hand-over must not flush"
    await new.start(None)
    if after is not None:
        await new.consume(after)
    await new.shutdown()
    await old.shutdown()  # after a hand-over: nothing left to do
    (batch,) = sink.batches
    return points(batch), new_settings.telemetry.counts


async def test_cumulative_series_keep_counting_with_their_start_times():
    cfg = config(RULES % "cumulative")
    got, counts = await hand_over(cfg, cfg, lines(b'{"k":"x","n":2}', b'{"k":"y","n":1}'), lines(b'{"k":"x","n":5}'))
    x = got["hits"][(("k", "x"),)]
    assert (x.value, got["size"][(("k", "x"),)].value, got["hits"][(("k", "y"),)].value) == (2, 7.0, 1)
    assert x.start_time_ns < x.time_ns and x.start_time_ns == got["size"][(("k", "x"),)].start_time_ns
    assert counts == {}


async def test_changed_rules_lose_their_series_and_count_them():
    old = config(RULES % "cumulative")
    new = config(RULES.replace("unit: By", "unit: KiBy") % "cumulative")
    got, counts = await hand_over(old, new, lines(b'{"k":"x","n":2}', b'{"k":"y","n":1}'), lines(b'{"k":"x","n":5}'))
    assert got["hits"][(("k", "x"),)].value == 2  # unchanged rule: kept
    assert {k: p.value for k, p in got["size"].items()} == {(("k", "x"),): 5.0}  # changed: started over
    assert counts == {(DROPPED_ON_RELOAD, (("metric", "size"),)): 2}
    _, counts = await hand_over(old, config(RULES % "delta"), lines(b'{"k":"x","n":2}'), lines(b'{"k":"x","n":1}'))
    assert counts == {(DROPPED_ON_RELOAD, (("metric", "hits"),)): 1, (DROPPED_ON_RELOAD, (("metric", "size"),)): 1}


async def test_delta_hands_over_the_unemitted_interval():
    cfg = config(RULES % "delta")
    got, _ = await hand_over(cfg, cfg, lines(b'{"k":"x","n":2}'), lines(b'{"k":"x","n":5}'))
    assert got["size"][(("k", "x"),)].value == 7.0


async def test_emf_metrics_carry_over():
    cfg = config("{parser: emf, flush_interval: 1h}")
    event = (b'{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"ns","Dimensions":[["svc"]],'
             b'"Metrics":[{"Name":"lat","Unit":"Milliseconds"}]}]},"svc":"a","lat":%d}')
    got, _ = await hand_over(cfg, cfg, lines(event % 3), lines(event % 4))
    (point,) = got["lat"].values()
    assert (point.count, point.sum) == (2, 7.0)


SERVICE = textwrap.dedent("""
    receivers: {source: {}}
    connectors:
      logs_to_metrics: {flush_interval: 1h, metrics: [{name: hits, type: counter, dimensions: [k]}]}
    exporters: {recorder: {}}
    service:
      telemetry: {metrics: {level: none}}
      pipelines:
        logs: {receivers: [source], exporters: [logs_to_metrics]}
        metrics: {receivers: [logs_to_metrics], exporters: [recorder]}
""")


async def test_a_service_reload_keeps_the_series(resolve_text):  # noqa: F811
    service = Service(resolve_text(SERVICE))
    await service.start()
    await Source.instances["source"].send(lines(b'{"k":"x"}', b'{"k":"x"}'))
    await service.reload(resolve_text(SERVICE))
    assert Recorder.instances["recorder"].batches == []
    await Source.instances["source"].send(lines(b'{"k":"x"}'))
    await service.shutdown()
    (batch,) = Recorder.instances["recorder"].batches
    assert points(batch)["hits"][(("k", "x"),)].value == 3


PROMETHEUS_CONFIG = """
receivers:
  testgen: {{batch: 10, interval: 0.01, tag: {tag}}}
connectors:
  logs_to_metrics: {{flush_interval: 100ms, metrics: [{{name: records, type: counter}}]}}
exporters:
  prometheus: {{endpoint: "127.0.0.1:{port}", enable_open_metrics: true}}
extensions:
  health_check: {{endpoint: "127.0.0.1:{health}"}}
service:
  extensions: [health_check]
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    logs: {{receivers: [testgen], exporters: [logs_to_metrics]}}
    metrics: {{receivers: [logs_to_metrics], exporters: [prometheus]}}
"""


def scrape(port: int) -> tuple[float, float] | None:
    """(records_total, records_created) from the OpenMetrics page, or None before the first flush."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            page = response.read().decode()
    except OSError:
        return None
    samples = {line.split("{")[0].split(" ")[0]: float(line.rsplit(" ", 1)[1])
               for line in page.splitlines() if line.startswith("records_")}
    if "records_total" not in samples:
        return None
    return samples["records_total"], samples["records_created"]


def wait_for(probe, what: str, timeout: float = 15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = probe()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(what)


def test_a_sighup_keeps_a_scraped_counter_counting(fathom, tmp_path):
    port, health = free_port(), free_port()
    path = tmp_path / "c.yaml"
    path.write_text(PROMETHEUS_CONFIG.format(tag="one", port=port, health=health))
    process = fathom("run", "--config", str(path))
    total, created = wait_for(lambda: (s := scrape(port)) and s[0] >= 50 and s, "no counter scraped")
    path.write_text(PROMETHEUS_CONFIG.format(tag="two", port=port, health=health))
    process.signal(signal.SIGHUP)
    process.wait_for_log("configuration reloaded")
    # Every scrape after the reload counts on from where the old connector stopped, from the same start.
    seen = [total]
    while seen[-1] < total + 100:
        now = wait_for(lambda: scrape(port), "the counter vanished after the reload")
        assert now[1] == created, "the counter restarted"
        seen.append(now[0])
        time.sleep(0.05)
    assert seen == sorted(seen)
    process.signal(signal.SIGTERM)
    assert process.wait() == 0
