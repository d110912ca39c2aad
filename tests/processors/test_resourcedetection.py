"""resourcedetection against a local stand-in for the EC2 and ECS metadata endpoints (never the network)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from aiohttp import web

from collector.component import ComponentID, Kind, Settings, Signal
from collector.processors.resourcedetection import ResourceDetection, ResourceDetectionConfig, detect_env
from collector.telemetry import Telemetry
from tests.processors.conftest import gauge, metric_batch

TOKEN = "tok-123"
IDENTITY = {"accountId": "123456789012", "architecture": "x86_64", "availabilityZone": "eu-west-1a",
            "imageId": "ami-0abc", "instanceId": "i-0123", "instanceType": "m5.large", "region": "eu-west-1"}
TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/prod/abcdef"


@pytest.fixture
async def metadata():
    """IMDSv2 (token required), the ECS v4 task endpoint, and a path that never answers."""
    seen: list[str] = []

    def authorized(request: web.Request) -> None:
        seen.append(request.path)
        if request.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            raise web.HTTPUnauthorized()

    async def token(request: web.Request) -> web.Response:
        assert request.headers["X-aws-ec2-metadata-token-ttl-seconds"]
        return web.Response(text=TOKEN)

    async def identity(request: web.Request) -> web.Response:
        authorized(request)
        return web.json_response(IDENTITY, content_type="text/plain")

    async def hostname(request: web.Request) -> web.Response:
        authorized(request)
        return web.Response(text="ip-10-0-0-1.eu-west-1.compute.internal\n")

    async def cluster_tag(request: web.Request) -> web.Response:
        authorized(request)
        return web.Response(text="prod-eks")

    async def task(request: web.Request) -> web.Response:
        return web.json_response({"Cluster": "prod", "TaskARN": TASK_ARN, "Family": "api", "Revision": "7",
                                  "AvailabilityZone": "eu-west-1b", "LaunchType": "FARGATE"})

    async def container(request: web.Request) -> web.Response:
        return web.json_response({"DockerId": "c0ffee", "Name": "api", "ContainerARN": "arn:aws:ecs:c",
                                  "LogOptions": {"awslogs-group": "/ecs/api", "awslogs-stream": "ecs/api/abc"}})

    released = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await released.wait()
        return web.Response()

    app = web.Application()
    app.router.add_put("/latest/api/token", token)
    app.router.add_get("/latest/dynamic/instance-identity/document", identity)
    app.router.add_get("/latest/meta-data/hostname", hostname)
    app.router.add_get("/latest/meta-data/tags/instance/eks:cluster-name", cluster_tag)
    app.router.add_get("/v4/task", task)
    app.router.add_get("/v4", container)
    app.router.add_get("/slow/latest/dynamic/instance-identity/document", hang)
    app.router.add_put("/slow/latest/api/token", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", seen
    released.set()
    await runner.cleanup()


def processor(config: dict, environ: dict) -> ResourceDetection:
    id = ComponentID("resourcedetection")
    settings = Settings(id, Kind.PROCESSOR, logging.getLogger("t"), Telemetry().for_component(id, Kind.PROCESSOR),
                        frozenset({Signal.METRICS}), "metrics")

    class Sink:
        mutates_data = False

        async def consume(self, batch):
            self.batch = batch

    return ResourceDetection(settings, ResourceDetectionConfig.model_validate(config), Sink(), environ)


def test_env_detector_reads_otel_variables():
    env = {"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod, team=a%2Cb,bad", "OTEL_SERVICE_NAME": "api"}
    assert detect_env(env) == {"deployment.environment": "prod", "team": "a,b", "service.name": "api"}


async def test_ec2_with_imdsv2(metadata):
    base, seen = metadata
    proc = processor({"detectors": ["ec2"], "ec2": {"endpoint": base}}, {})
    await proc.start(None)
    assert proc.detected == {
        "cloud.provider": "aws", "cloud.platform": "aws_ec2", "cloud.account.id": "123456789012",
        "cloud.region": "eu-west-1", "cloud.availability_zone": "eu-west-1a", "host.id": "i-0123",
        "host.type": "m5.large", "host.image.id": "ami-0abc", "host.name": "ip-10-0-0-1.eu-west-1.compute.internal",
        "k8s.cluster.name": "prod-eks"}
    assert "/latest/dynamic/instance-identity/document" in seen


async def test_ecs_and_eks_and_precedence(metadata):
    base, _ = metadata
    env = {"ECS_CONTAINER_METADATA_URI_V4": base + "/v4", "OTEL_RESOURCE_ATTRIBUTES": "cloud.region=mine"}
    proc = processor({"detectors": ["env", "ecs"]}, env)
    await proc.start(None)
    d = proc.detected
    assert d["cloud.region"] == "mine"  # env came first
    assert d["aws.ecs.cluster.arn"] == "arn:aws:ecs:eu-west-1:123456789012:cluster/prod"
    assert (d["aws.ecs.launchtype"], d["container.id"], d["aws.log.group.names"]) == ("fargate", "c0ffee", ["/ecs/api"])
    assert d["cloud.platform"] == "aws_ecs" and d["cloud.account.id"] == "123456789012"
    eks = processor({"detectors": ["eks"], "ec2": {"endpoint": base}}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    await eks.start(None)
    assert eks.detected["cloud.platform"] == "aws_eks" and eks.detected["k8s.cluster.name"] == "prod-eks"
    not_k8s = processor({"detectors": ["eks", "ecs"], "ec2": {"endpoint": base}}, {})
    await not_k8s.start(None)
    assert not_k8s.detected == {}


async def test_unreachable_metadata_times_out_quickly_and_is_skipped(metadata):
    base, _ = metadata
    proc = processor({"detectors": ["ec2", "env"], "timeout": "200ms", "ec2": {"endpoint": base + "/slow"}},
                     {"OTEL_SERVICE_NAME": "api"})
    started = time.monotonic()
    await proc.start(None)
    assert time.monotonic() - started < 1.0
    assert proc.detected == {"service.name": "api"}


async def test_detected_attributes_fill_resources_in_a_pipeline(run_pipeline, monkeypatch):
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=detected")
    out = await run_pipeline("resourcedetection: {detectors: [env, system]}", "metrics",
                             [metric_batch([gauge("g", ({}, 1.0))], resource={"service.name": "mine"})])
    attrs = dict(out[0].resource_metrics[0].resource.attributes)
    assert attrs["service.name"] == "mine" and attrs["deployment.environment"] == "prod"
    assert attrs["host.name"] and attrs["os.type"] == "linux"
