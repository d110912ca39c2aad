"""A real CloudWatch emulator over HTTP (moto's server) on loopback, and helpers.

The server is shared by the module; each test resets its state. Fake
credentials come from the environment, as botocore's standard chain reads
them, and no shared config or instance metadata is consulted.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any, Iterator

import boto3
import pytest
import requests

from collector.component import ComponentID, Kind, Settings, Signal
from collector.pdata import metrics as m
from collector.telemetry import Telemetry

REGION = "us-east-1"
_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def aws_env() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def moto_endpoint(aws_env: None) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto(moto_endpoint: str) -> str:
    """The emulator's URL, its state reset for this test."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=5)
    return moto_endpoint


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


def settings(type_: str) -> Settings:
    id = ComponentID(type_)
    return Settings(id, Kind.EXPORTER, logging.getLogger(f"test.{type_}"),
                    Telemetry().for_component(id, Kind.EXPORTER), frozenset({Signal.METRICS}))


def counters(s: Settings, name: str) -> dict[str, float]:
    """``{reason: n}`` (or ``{"": n}`` without attributes) of the counter ``name``."""
    out: dict[str, float] = {}
    for _, _, metric in s.telemetry.telemetry.collect().iter_metrics():
        if metric.name == name:
            for p in metric.points:
                key = str(p.attributes.get("reason", ""))
                out[key] = out.get(key, 0) + p.value
    return out


def gauge(name: str, value: float, attrs: dict, time_ns: int, unit: str = "") -> m.Metric:
    return m.Metric(name, m.MetricType.GAUGE, [m.NumberPoint(attrs, time_ns, value)], unit=unit)


def batch(metrics: list[m.Metric], resource: dict | None = None) -> m.Metrics:
    return m.Metrics([m.ResourceMetrics(m.Resource(resource or {}), [m.ScopeMetrics(m.Scope("test"), metrics)])])
