"""The emf receiver serving the real aws-embedded-metrics client over TCP and UDP."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

import pytest

from collector.component import Signal
from receivers.emf import GROUP_ATTRIBUTE, STREAM_ATTRIBUTE, EmfConfig, factory
from tests.logsources.conftest import make_settings

CLIENT = os.path.join(os.path.dirname(__file__), "emf_client.py")


async def run_client(endpoint: str, count: int, dimensions: str) -> None:
    env = {**os.environ, "AWS_EMF_AGENT_ENDPOINT": endpoint, "AWS_EMF_ENVIRONMENT": "default",
           "AWS_EMF_SERVICE_NAME": "checkout", "AWS_EMF_SERVICE_TYPE": "web",
           "AWS_EMF_LOG_GROUP_NAME": "app-metrics", "AWS_EMF_LOG_STREAM_NAME": "pod-1"}
    proc = await asyncio.create_subprocess_exec(sys.executable, CLIENT, str(count), dimensions, env=env,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_real_client_with_default_and_custom_dimensions(transport, sink, host):
    settings, telemetry = make_settings("emf")
    receiver = factory.create(settings, EmfConfig(tcp_endpoint="127.0.0.1:0", udp_endpoint="127.0.0.1:0"),
                              {Signal.LOGS: sink})
    await receiver.start(host)
    try:
        port = receiver.servers[0 if transport == "tcp" else 1].port
        await run_client(f"{transport}://127.0.0.1:{port}", 20, "default")
        await run_client(f"{transport}://127.0.0.1:{port}", 20, "custom")
        lines = await sink.wait_lines(40)
    finally:
        await receiver.shutdown()
    events = [json.loads(line) for line in lines]
    assert sorted(e["seq"] for e in events) == sorted(list(range(20)) * 2)
    directives = [e["_aws"]["CloudWatchMetrics"][0] for e in events]
    assert {tuple(d["Dimensions"][0]) for d in directives} == {("LogGroup", "ServiceName", "ServiceType"),
                                                              ("Route", "Status")}
    assert all(d["Namespace"] == "FathomTest" and d["Metrics"][0]["Name"] == "Latency" for d in directives)
    assert {e["ServiceName"] for e in events if "ServiceName" in e} == {"checkout"}
    for chunk in sink.chunks():
        assert chunk.attributes == {GROUP_ATTRIBUTE: ["app-metrics"], STREAM_ATTRIBUTE: ["pod-1"]}


async def test_events_of_several_log_groups_are_split_by_group(sink, host):
    settings, _ = make_settings("emf")
    receiver = factory.create(settings, EmfConfig(tcp_endpoint="127.0.0.1:0", udp_endpoint=""), {Signal.LOGS: sink})
    await receiver.start(host)
    try:
        events = [{"_aws": {"Timestamp": 1, "LogGroupName": g, "CloudWatchMetrics": []}, "i": i}
                  for i, g in enumerate(["a", "b", "a", "c\\\"q"])] + [{"no": "aws"}]
        payload = b"".join(json.dumps(e).encode() + b"\n" for e in events)
        with socket.create_connection(("127.0.0.1", receiver.servers[0].port)) as s:
            s.sendall(payload)
        await sink.wait_lines(5)
    finally:
        await receiver.shutdown()
    by_group = {tuple(c.attributes.get(GROUP_ATTRIBUTE, [])): [json.loads(x)["i"] if b'"i"' in x else None
                                                                for x in c.lines()] for c in sink.chunks()}
    assert by_group == {("a",): [0, 2], ("b",): [1], ('c\\"q',): [3], (): [None]}


def test_service_address_picks_one_transport():
    assert EmfConfig(service_address="udp://127.0.0.1:25999").endpoints() == ("", "127.0.0.1:25999")
    with pytest.raises(ValueError, match="tcp://host:port"):
        EmfConfig(service_address="http://x:1")
