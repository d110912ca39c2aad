"""The ``resourcedetection`` processor: resource attributes from the environment, the host and AWS metadata.

Detectors run once, at start, in the order listed; an attribute set by an
earlier detector wins, as in the OpenTelemetry Collector. A detector that
finds nothing (not on EC2, no ECS variable) or does not answer within
``timeout`` is skipped and logged; start-up never fails because of one.
The detected attributes are then inserted into every resource (``override:
true`` replaces values the data already has).

* ``env``: ``OTEL_RESOURCE_ATTRIBUTES`` (``k=v,k2=v2``, percent-decoded) and
  ``OTEL_SERVICE_NAME`` (``service.name``);
* ``system``: ``host.name``, ``host.arch``, ``os.type``, ``os.description``;
* ``ec2``: the instance identity document and host name from the instance
  metadata service (IMDSv2 token first, then IMDSv1): ``cloud.*``,
  ``host.id``, ``host.type``, ``host.image.id``, ``host.name``;
* ``ecs``: task and container metadata from ``ECS_CONTAINER_METADATA_URI_V4``:
  ``aws.ecs.*``, ``container.*``, ``aws.log.*``, ``cloud.*``;
* ``eks``: where ``KUBERNETES_SERVICE_HOST`` is set, EC2 metadata plus
  ``cloud.platform: aws_eks`` and ``k8s.cluster.name`` from the instance tag
  ``eks:cluster-name`` (instance metadata tags must be enabled) or ``eks.cluster_name``.

```yaml
processors:
  resourcedetection:
    detectors: [env, ecs, eks, ec2, system]
    timeout: 2s
```
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
from typing import Any, Awaitable, Callable, Literal, Mapping
from urllib.parse import unquote

import aiohttp
from pydantic import Field

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.configtypes import Duration
from collector.pdata import Batch
from collector.processors.editing import edit_batch

Detected = dict[str, Any]
_IMDS_TOKEN_TTL = "60"


class Ec2Config(ComponentConfig):
    endpoint: str = Field("http://169.254.169.254", description="Instance metadata service base URL.")


class EcsConfig(ComponentConfig):
    endpoint: str | None = Field(None, description="Task metadata v4 URL; default: $ECS_CONTAINER_METADATA_URI_V4.")


class EksConfig(ComponentConfig):
    cluster_name: str | None = Field(None, description="k8s.cluster.name when the instance tag is not readable.")


class ResourceDetectionConfig(ComponentConfig):
    detectors: list[Literal["env", "system", "ec2", "ecs", "eks"]] = Field(
        default_factory=lambda: ["env", "system"], description="Detectors to run, earlier ones winning."
    )
    timeout: Duration = Field(2.0, gt=0, description="Longest wait for each metadata detector.")
    override: bool = Field(False, description="Replace resource attributes the data already has.")
    ec2: Ec2Config = Field(default_factory=Ec2Config, description="EC2 (and EKS) metadata endpoint.")
    ecs: EcsConfig = Field(default_factory=EcsConfig, description="ECS task metadata endpoint.")
    eks: EksConfig = Field(default_factory=EksConfig, description="EKS settings.")


def detect_env(environ: Mapping[str, str]) -> Detected:
    out: Detected = {}
    for pair in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            out[unquote(key.strip())] = unquote(value.strip())
    if environ.get("OTEL_SERVICE_NAME"):
        out["service.name"] = environ["OTEL_SERVICE_NAME"]
    return out


def detect_system() -> Detected:
    return {
        "host.name": socket.gethostname(),
        "host.arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine().lower()),
        "os.type": platform.system().lower(),
        "os.description": f"{platform.system()} {platform.release()}",
    }


async def detect_ec2(session: aiohttp.ClientSession, endpoint: str) -> Detected:
    base = endpoint.rstrip("/")
    headers = {}
    try:  # IMDSv2; an IMDSv1-only host refuses the PUT and answers plain GETs
        async with session.put(base + "/latest/api/token",
                               headers={"X-aws-ec2-metadata-token-ttl-seconds": _IMDS_TOKEN_TTL}) as resp:
            if resp.status == 200:
                headers["X-aws-ec2-metadata-token"] = await resp.text()
    except aiohttp.ClientResponseError:
        pass
    async with session.get(base + "/latest/dynamic/instance-identity/document", headers=headers) as resp:
        resp.raise_for_status()
        doc = await resp.json(content_type=None)
    out: Detected = {
        "cloud.provider": "aws", "cloud.platform": "aws_ec2",
        "cloud.account.id": doc.get("accountId"), "cloud.region": doc.get("region"),
        "cloud.availability_zone": doc.get("availabilityZone"), "host.id": doc.get("instanceId"),
        "host.type": doc.get("instanceType"), "host.image.id": doc.get("imageId"),
    }
    hostname = await _optional_text(session, base + "/latest/meta-data/hostname", headers)
    if hostname:
        out["host.name"] = hostname
    cluster = await _optional_text(session, base + "/latest/meta-data/tags/instance/eks:cluster-name", headers)
    if cluster:
        out["k8s.cluster.name"] = cluster
    return {k: v for k, v in out.items() if v}


async def _optional_text(session: aiohttp.ClientSession, url: str, headers: Mapping[str, str]) -> str:
    async with session.get(url, headers=headers) as resp:
        return (await resp.text()).strip() if resp.status == 200 else ""


async def detect_ecs(session: aiohttp.ClientSession, endpoint: str) -> Detected:
    base = endpoint.rstrip("/")
    async with session.get(base + "/task") as resp:
        resp.raise_for_status()
        task = await resp.json(content_type=None)
    async with session.get(base) as resp:
        resp.raise_for_status()
        container = await resp.json(content_type=None)
    task_arn = task.get("TaskARN", "")
    arn = task_arn.split(":")  # arn:aws:ecs:<region>:<account>:task/<cluster>/<id>
    region, account = (arn[3], arn[4]) if len(arn) >= 6 else ("", "")
    cluster = task.get("Cluster", "")
    if cluster and not cluster.startswith("arn:") and region:
        cluster = f"arn:aws:ecs:{region}:{account}:cluster/{cluster}"
    logs = container.get("LogOptions") or {}
    out: Detected = {
        "cloud.provider": "aws", "cloud.platform": "aws_ecs", "cloud.region": region, "cloud.account.id": account,
        "cloud.availability_zone": task.get("AvailabilityZone"), "aws.ecs.cluster.arn": cluster,
        "aws.ecs.task.arn": task_arn, "aws.ecs.task.family": task.get("Family"),
        "aws.ecs.task.revision": task.get("Revision"), "aws.ecs.launchtype": (task.get("LaunchType") or "").lower(),
        "aws.ecs.container.arn": container.get("ContainerARN"), "container.id": container.get("DockerId"),
        "container.name": container.get("Name"),
        "aws.log.group.names": [logs["awslogs-group"]] if logs.get("awslogs-group") else None,
        "aws.log.stream.names": [logs["awslogs-stream"]] if logs.get("awslogs-stream") else None,
    }
    return {k: v for k, v in out.items() if v}


class ResourceDetection:
    mutates_data = True

    def __init__(self, settings: Settings, config: ResourceDetectionConfig, next: Consumer,
                 environ: Mapping[str, str] = os.environ) -> None:
        self._log = settings.logger
        self._config = config
        self._next = next
        self._environ = environ
        self.detected: Detected = {}
        self._started = False

    async def start(self, host: Host) -> None:
        if self._started:
            return
        self._started = True
        self.detected = await self.detect()

    async def detect(self) -> Detected:
        """Every configured detector in order; the first to set an attribute wins."""
        out: Detected = {}
        timeout = aiohttp.ClientTimeout(total=self._config.timeout)
        async with aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as session:
            for name in self._config.detectors:
                try:
                    found = await asyncio.wait_for(self._run(name, session), self._config.timeout)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, OSError) as exc:
                    self._log.info("resource detector %s found nothing: %s", name, exc or type(exc).__name__)
                    continue
                for k, v in found.items():
                    out.setdefault(k, v)
        return out

    def _run(self, name: str, session: aiohttp.ClientSession) -> Awaitable[Detected]:
        detectors: dict[str, Callable[[], Awaitable[Detected]]] = {
            "env": lambda: _done(detect_env(self._environ)),
            "system": lambda: _done(detect_system()),
            "ec2": lambda: detect_ec2(session, self._config.ec2.endpoint),
            "ecs": lambda: self._ecs(session),
            "eks": lambda: self._eks(session),
        }
        return detectors[name]()

    async def _ecs(self, session: aiohttp.ClientSession) -> Detected:
        endpoint = self._config.ecs.endpoint or self._environ.get("ECS_CONTAINER_METADATA_URI_V4")
        return await detect_ecs(session, endpoint) if endpoint else {}

    async def _eks(self, session: aiohttp.ClientSession) -> Detected:
        if not self._environ.get("KUBERNETES_SERVICE_HOST"):
            return {}
        found = await detect_ec2(session, self._config.ec2.endpoint)
        found["cloud.platform"] = "aws_eks"
        if self._config.eks.cluster_name:
            found.setdefault("k8s.cluster.name", self._config.eks.cluster_name)
        return found

    async def shutdown(self) -> None:
        pass

    def _apply(self, attrs: dict[str, Any]) -> bool:
        changed = False
        for k, v in self.detected.items():
            if (self._config.override or k not in attrs) and attrs.get(k) != v:
                attrs[k] = v
                changed = True
        return changed

    async def consume(self, batch: Batch) -> None:
        if self.detected:
            batch = edit_batch(batch, resource=self._apply)
        await self._next.consume(batch)


async def _done(value: Detected) -> Detected:
    return value


def create(settings: Settings, config: ResourceDetectionConfig, next: Consumer) -> ResourceDetection:
    return ResourceDetection(settings, config, next)


factory = Factory(
    type="resourcedetection",
    kind=Kind.PROCESSOR,
    config=ResourceDetectionConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA, Signal.METRICS: Stability.ALPHA, Signal.TRACES: Stability.ALPHA},
    description="Adds resource attributes detected from the environment, the host and AWS metadata.",
)
