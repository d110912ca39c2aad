"""The exposition text: what a scrape of every metric type looks like, checked by promtool."""

from __future__ import annotations

import math

import pytest

from collector.pdata import metrics as m
from exporters.prometheus.naming import TranslationStrategy
from exporters.prometheus.render import (
    CONTENT_TYPE_OPENMETRICS,
    CONTENT_TYPE_TEXT,
    RenderOptions,
    negotiate,
    render,
)
from tests.prometheus.conftest import (
    CUMULATIVE,
    DELTA,
    T0,
    batch,
    counter,
    gauge,
    histogram,
    needs_promtool,
    promtool_check,
)

SCOPE = 'otel_scope_name="lib",otel_scope_version="1.2",job="api",instance="i-1"'


def lines(body: bytes) -> list[str]:
    return body.decode().splitlines()


def every_type() -> m.Metrics:
    summary = m.Metric("rpc.latency", m.MetricType.SUMMARY,
                       [m.SummaryPoint({"m": "get"}, T0, 4, 10.0, [(0.99, 9.0), (0.5, 2.0)], T0 - 10**9)],
                       "rpc latency", "s")
    updown = m.Metric("queue.depth", m.MetricType.SUM, [m.NumberPoint({}, T0, -3)], "queued items", "{item}",
                      CUMULATIVE, False)
    return batch(
        counter("http.requests", 7, {"method": "GET", "status": 200}, unit="{request}", description="requests"),
        gauge("memory.usage", 1.5e9, unit="By", description="memory in use"),
        gauge("cpu.utilization", 0.25, unit="1", description="cpu busy"),
        updown,
        histogram("http.duration", (0.1, 0.5, 1.0), [1, 2, 3, 4], 12.5, {"route": "/a"}, unit="s",
                  description="latency"),
        summary,
    )


def test_every_type_in_text_format() -> None:
    out = lines(render([every_type()]))
    assert not any("target_info" in line for line in out)  # the resource holds only service identity
    assert "# TYPE http_requests_total counter" in out
    assert f'http_requests_total{{method="GET",status="200",{SCOPE}}} 7' in out
    assert "# TYPE memory_usage_bytes gauge" in out
    assert f"memory_usage_bytes{{{SCOPE}}} 1500000000.0" in out
    assert f"cpu_utilization_ratio{{{SCOPE}}} 0.25" in out
    assert "# TYPE queue_depth gauge" in out
    assert f"queue_depth{{{SCOPE}}} -3" in out
    assert "# TYPE http_duration_seconds histogram" in out
    assert [line for line in out if line.startswith("http_duration_seconds")] == [
        f'http_duration_seconds_bucket{{route="/a",{SCOPE},le="0.1"}} 1',
        f'http_duration_seconds_bucket{{route="/a",{SCOPE},le="0.5"}} 3',
        f'http_duration_seconds_bucket{{route="/a",{SCOPE},le="1.0"}} 6',
        f'http_duration_seconds_bucket{{route="/a",{SCOPE},le="+Inf"}} 10',
        f'http_duration_seconds_count{{route="/a",{SCOPE}}} 10',
        f'http_duration_seconds_sum{{route="/a",{SCOPE}}} 12.5',
    ]
    assert [line for line in out if line.startswith("rpc_latency")] == [
        f'rpc_latency_seconds{{m="get",{SCOPE},quantile="0.5"}} 2.0',
        f'rpc_latency_seconds{{m="get",{SCOPE},quantile="0.99"}} 9.0',
        f'rpc_latency_seconds_count{{m="get",{SCOPE}}} 4',
        f'rpc_latency_seconds_sum{{m="get",{SCOPE}}} 10.0',
    ]
    assert not any(line.startswith("# EOF") or "_created" in line for line in out)


def test_every_type_in_openmetrics() -> None:
    out = lines(render([every_type()], openmetrics=True))
    assert out[-1] == "# EOF"
    assert "# TYPE http_requests counter" in out
    assert f'http_requests_total{{method="GET",status="200",{SCOPE}}} 7' in out
    assert f'http_requests_created{{method="GET",status="200",{SCOPE}}} {T0 / 1e9:.3f}' in out
    assert "# UNIT memory_usage_bytes bytes" in out
    assert "# UNIT http_duration_seconds seconds" in out
    assert f'http_duration_seconds_created{{route="/a",{SCOPE}}} {T0 / 1e9:.3f}' in out


@needs_promtool
def test_promtool_accepts_every_type() -> None:
    promtool_check(render([every_type()]))


@needs_promtool
def test_promtool_accepts_awkward_names_and_values() -> None:
    awkward = batch(
        counter("weird name!@#.µ", 1, {"label with spaces": 'quote " back \\ slash\nnewline',
                                         "0starts.with.digit": "v", "_under": "x", "ключ": "значение",
                                         "list": [1, "a", None], "map": {"k": True}, "bytes": b"\x00\xff",
                                         "flag": False, "ratio": 0.5}),
        gauge("9lives", math.inf, {"a.b": "1", "a-b": "2", "a_b": "3"}),
        gauge("neg.inf", -math.inf),
        gauge("not.a.number", math.nan),
        histogram("empty.hist", (), [5], 2.0),
        histogram("neg.bounds", (-1.0, 0.0, 1e-9, 1e300), [1, 0, 0, 0, 1], None),
        resource={"service.name": "weird \"svc\"", "service.namespace": "ns\\x", "k8s.pod.name": "p\n1"},
        scope=m.Scope("scope \"name\"", "v\\1", {"team": "a\nb"}),
    )
    for strategy in TranslationStrategy:
        body = render([awkward], options=RenderOptions(translation_strategy=strategy, namespace="my-app",
                                                       const_labels={"env": "prod", "job": "overridden"}))
        # without suffixes a counter has no _total: the strategy's point, promtool's lint
        promtool_check(body, allowed_lints=() if strategy.add_suffixes else ('should have "_total" suffix',))


def test_label_escaping_and_collisions() -> None:
    body = render([batch(gauge("g", 1, {"a.b": "1", "a-b": "2", "a_b": "3", "q": 'x"y\\z\nw'}))]).decode()
    # colliding keys join their values in the order of the original keys: a-b, a.b, a_b
    assert 'a_b="2;1;3"' in body
    assert 'q="x\\"y\\\\z\\nw"' in body


def test_non_string_attributes_follow_the_attribute_spec() -> None:
    body = render([batch(gauge("g", 1, {"b": True, "i": 3, "f": 0.5, "l": [1, "x"], "m": {"k": 1}, "y": b"hi"}))])
    text = body.decode()
    for expected in ['b="true"', 'i="3"', 'f="0.5"', 'l="[1,\\"x\\"]"', 'm="{\\"k\\":1}"', 'y="aGk="']:
        assert expected in text


def test_special_values_are_written_as_prometheus_does() -> None:
    out = render([batch(gauge("a", math.inf), gauge("b", -math.inf), gauge("c", math.nan))]).decode()
    assert "a{" in out and "} +Inf" in out and "} -Inf" in out and "} NaN" in out


def test_job_instance_and_target_info() -> None:
    res = {"service.name": "cart", "service.namespace": "shop", "service.instance.id": "pod-7", "host.name": "h"}
    out = lines(render([batch(gauge("g", 1), resource=res)]))
    assert 'target_info{host_name="h",job="shop/cart",instance="pod-7"} 1' in out
    assert 'g{otel_scope_name="lib",otel_scope_version="1.2",job="shop/cart",instance="pod-7"} 1' in out
    om = lines(render([batch(gauge("g", 1), resource=res)], openmetrics=True))
    assert om[:3] == ["# HELP target Target metadata", "# TYPE target info",
                      'target_info{host_name="h",job="shop/cart",instance="pod-7"} 1']


def test_no_target_info_for_a_resource_of_only_service_identity() -> None:
    assert b"target_info" not in render([batch(gauge("g", 1))])


def test_target_info_once_per_job_and_instance() -> None:
    body = render([batch(gauge("g", 1), resource={"service.name": "a", "x": "1"}),
                   batch(gauge("h", 1), resource={"service.name": "a", "x": "1"})])
    assert body.count(b"target_info{") == 1


def test_resource_to_telemetry_conversion() -> None:
    res = {"service.name": "api", "cloud.region": "eu", "shared": "resource"}
    opts = RenderOptions(resource_to_telemetry_conversion=True)
    out = render([batch(gauge("g", 1, {"shared": "point"}), resource=res)], options=opts).decode()
    assert 'cloud_region="eu"' in out and 'shared="point"' in out and 'service_name="api"' in out


def test_const_labels_never_override() -> None:
    opts = RenderOptions(const_labels={"env": "prod", "zone": "const"})
    out = render([batch(gauge("g", 1, {"zone": "point"}))], options=opts).decode()
    assert 'env="prod"' in out and 'zone="point"' in out and 'zone="const"' not in out


def test_send_timestamps() -> None:
    t = T0 + 1_234_567_890
    text = render([batch(gauge("g", 1, t=t))], options=RenderOptions(send_timestamps=True)).decode()
    assert f"}} 1 {t // 1_000_000}\n" in text
    om = render([batch(gauge("g", 1, t=t))], openmetrics=True, options=RenderOptions(send_timestamps=True))
    assert f"}} 1 {t / 1e9:.3f}\n" in om.decode()


def test_help_and_type_once_per_family_across_resources_and_scopes() -> None:
    body = render([batch(counter("c", 1), resource={"service.name": "a"}),
                   batch(counter("c", 2), resource={"service.name": "b"}, scope=m.Scope("other"))])
    out = lines(body)
    assert out.count("# TYPE c_total counter") == 1 and out.count("# HELP c_total a counter") == 1
    assert [line for line in out if line.startswith("c_total")] == [
        'c_total{otel_scope_name="lib",otel_scope_version="1.2",job="a"} 1',
        'c_total{otel_scope_name="other",job="b"} 2',
    ]


def test_type_conflict_drops_the_later_metric() -> None:
    body = render([batch(gauge("x_total", 1), counter("x", 2))]).decode()
    assert "# TYPE x_total gauge" in body and "counter" not in body


def test_unrenderable_metrics_are_left_out() -> None:
    exp = m.Metric("e", m.MetricType.EXPONENTIAL_HISTOGRAM, [m.ExponentialHistogramPoint(
        {}, T0, 1, 1.0, 0, 0, m.Buckets(0, [1]), m.Buckets())], "exp")
    body = render([batch(exp, counter("d", 1, temporality=DELTA),
                         histogram("h", (1.0,), [1, 1], 1.0, temporality=DELTA),
                         m.Metric("n", m.MetricType.GAUGE, [m.NumberPoint({}, T0, 1, flags=m.FLAG_NO_RECORDED_VALUE)],
                                  "no value"))])
    assert b"e_" not in body and b"d_total" not in body and b"h_bucket" not in body and b"\nn" not in body


def test_unknown_prometheus_type_is_untyped() -> None:
    metric = gauge("u", 1)
    metric.metadata = {"prometheus.type": "unknown"}
    assert b"# TYPE u untyped" in render([batch(metric)])
    assert b"# TYPE u unknown" in render([batch(metric)], openmetrics=True)


def test_openmetrics_exemplars_per_bucket() -> None:
    trace, span = bytes(range(16)), bytes(range(8))
    metric = histogram("h", (1.0, 2.0, 3.0), [1, 1, 0, 1], 10.0, unit="s")
    metric.points[0].exemplars = [m.Exemplar(T0, 0.5, {}, trace, span), m.Exemplar(T0, 0.7, {"user": "u"}, trace, span),
                                  m.Exemplar(T0, 5.0, {}, trace, span)]
    out = lines(render([batch(metric)], openmetrics=True))
    buckets = [line for line in out if "_bucket" in line]
    ids = f'trace_id="{trace.hex()}",span_id="{span.hex()}"'
    assert buckets[0].endswith(f'# {{user="u",{ids}}} 0.7 {T0 / 1e9:.3f}')  # the largest in the bucket
    assert buckets[1].endswith(f'# {{user="u",{ids}}} 0.7 {T0 / 1e9:.3f}')  # none in it: carried up
    assert buckets[3].endswith(f"# {{{ids}}} 5.0 {T0 / 1e9:.3f}")
    assert "#" not in render([batch(metric)]).decode().split("# TYPE h_seconds histogram")[1]


def test_openmetrics_counter_exemplar() -> None:
    metric = counter("c", 3)
    metric.points[0].exemplars = [m.Exemplar(T0, 1, {}, b"\x01" * 16, b"\x02" * 8)]
    body = render([batch(metric)], openmetrics=True).decode()
    assert f'c_total{{{SCOPE}}} 3 # {{trace_id="{"01" * 16}",span_id="{"02" * 8}"}} 1' in body


@pytest.mark.parametrize(
    ("accept", "openmetrics"),
    [
        (None, False),
        ("", False),
        ("text/plain", False),
        ("*/*", False),
        ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
         "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", True),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", True),
        ("application/openmetrics-text;version=0.0.1", False),
        ("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5", False),
        ("application/openmetrics-text;q=bogus", False),
    ],
)
def test_negotiate(accept: str | None, openmetrics: bool) -> None:
    assert negotiate(accept) == (openmetrics, CONTENT_TYPE_OPENMETRICS if openmetrics else CONTENT_TYPE_TEXT)
