"""Names and labels by the OpenTelemetry Prometheus compatibility specification."""

import pytest

from exporters.prometheus.naming import COUNTER, GAUGE, OTHER, TranslationStrategy, label_name, metric_name

WITH = TranslationStrategy.UNDERSCORE_ESCAPING_WITH_SUFFIXES
WITHOUT = TranslationStrategy.UNDERSCORE_ESCAPING_WITHOUT_SUFFIXES


@pytest.mark.parametrize(
    ("name", "unit", "kind", "expected"),
    [
        ("system.filesystem.usage", "By", GAUGE, "system_filesystem_usage_bytes"),
        ("http.server.request.duration", "s", OTHER, "http_server_request_duration_seconds"),
        ("system.memory.utilization", "1", GAUGE, "system_memory_utilization_ratio"),
        ("system.cpu.time", "1", COUNTER, "system_cpu_time_total"),
        ("system.network.dropped", "{packets}", COUNTER, "system_network_dropped_total"),
        ("system.network.dropped", "packets", GAUGE, "system_network_dropped_packets"),
        ("network.io", "By/s", GAUGE, "network_io_bytes_per_second"),
        ("requests", "{request}/s", GAUGE, "requests_per_second"),
        ("requests.total", "", COUNTER, "requests_total"),
        ("total.requests", "", COUNTER, "requests_total"),
        ("latency_seconds", "s", OTHER, "latency_seconds"),
        ("(lambda).function.executions(#)", "", GAUGE, "lambda_function_executions"),
        ("a__b...c", "", GAUGE, "a_b_c"),
        ("0day", "", GAUGE, "_0day"),
        ("mem", "MiBy", GAUGE, "mem_mebibytes"),
        ("temp", "Cel", GAUGE, "temp_celsius"),
        ("ratio.metric", "1", GAUGE, "metric_ratio"),
        ("名前.x", "", GAUGE, "x"),
        ("...", "", GAUGE, ""),
    ],
)
def test_metric_names_with_suffixes(name: str, unit: str, kind: str, expected: str) -> None:
    assert metric_name(name, unit, kind, "", WITH) == expected


def test_without_suffixes_only_escapes() -> None:
    assert metric_name("http.server.duration", "s", OTHER, "", WITHOUT) == "http_server_duration"
    assert metric_name("requests", "1", COUNTER, "", WITHOUT) == "requests"
    assert metric_name("mem.util", "1", GAUGE, "", WITHOUT) == "mem_util"


def test_namespace_is_a_sanitised_prefix() -> None:
    assert metric_name("requests", "", COUNTER, "my-app", WITH) == "my_app_requests_total"
    assert metric_name("0x", "", GAUGE, "ns", WITH) == "ns_0x"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("http.method", "http_method"),
        ("123abc", "key_123abc"),
        ("_private", "key_private"),
        ("__reserved", "key_reserved"),
        ("a..b", "a_b"),
        ("ünïcode", "key_n_code"),
        ("...", "key_"),
        ("", ""),
    ],
)
def test_label_names(key: str, expected: str) -> None:
    assert label_name(key) == expected
