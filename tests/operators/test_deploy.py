"""deploy/: every manifest is valid against the Kubernetes API schemas (offline, kubernetes-validate),
mounts a config that is configs/<name>.yaml verbatim and passes validation, and runs fathom the way
docs/kubernetes.md promises: non-root, read-only root, probes on health_check, memory_limiter under the limit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from collector.config import load_config_text
from collector.registry import Registry
from collector.resolve import resolve

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = {"sidecar": "sidecar", "daemonset": "daemonset", "gateway": "gateway"}  # deploy file -> configs file
#: the oldest Kubernetes release we support, and the newest the schemas know
VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]
#: containers allowed to run as root, and why: chown of the node's checkpoint directory
ROOT_ALLOWED = {("daemonset", "storage-owner")}


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((ROOT / "deploy" / f"{name}.yaml").read_text()) if d]


def pod_specs(name: str) -> Iterator[dict[str, Any]]:
    for doc in documents(name):
        if doc["kind"] in ("Deployment", "DaemonSet", "StatefulSet"):
            yield doc["spec"]["template"]["spec"]


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) * (1024 if unit == "Gi" else 1)


def test_every_manifest_in_deploy_is_tested():
    assert sorted(p.stem for p in (ROOT / "deploy").glob("*.yaml")) == sorted(MANIFESTS)


@pytest.mark.parametrize("name", MANIFESTS)
@pytest.mark.parametrize("version", VERSIONS)
def test_each_object_is_valid_against_the_kubernetes_schemas(name, version):
    for doc in documents(name):
        kubernetes_validate.validate(doc, version, strict=True)  # raises ValidationError naming the field


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_mounted_config_is_the_ready_config_and_valid_with_the_pods_environment(name):
    (configmap,) = [d for d in documents(name) if d["kind"] == "ConfigMap"]
    text = configmap["data"]["config.yaml"]
    assert text == (ROOT / "configs" / f"{MANIFESTS[name]}.yaml").read_text(), \
        f"deploy/{name}.yaml embeds an outdated configs/{MANIFESTS[name]}.yaml: copy it in again"
    (spec,) = pod_specs(name)
    fathom = next(c for c in spec["containers"] if c["name"] == "fathom")
    env = {e["name"]: e["value"] for e in fathom.get("env", []) if "value" in e}
    resolve(load_config_text(text, f"deploy/{name}.yaml", env), Registry.discover())  # raises ConfigErrors
    volumes = {v["name"]: v for v in spec["volumes"]}
    mount = next(m for m in fathom["volumeMounts"] if m["mountPath"] == "/etc/fathom")
    assert volumes[mount["name"]]["configMap"]["name"] == configmap["metadata"]["name"]
    assert fathom["args"] == ["run", "--config", "/etc/fathom/config.yaml"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_pods_run_non_root_on_a_read_only_root_with_no_capabilities(name):
    for spec in pod_specs(name):
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, container["name"]
            assert context["allowPrivilegeEscalation"] is False, container["name"]
            assert context["capabilities"]["drop"] == ["ALL"], container["name"]
            if (name, container["name"]) not in ROOT_ALLOWED:
                assert context.get("runAsUser", 10001) != 0 and "add" not in context["capabilities"]
        for volume in spec["volumes"]:
            if "hostPath" in volume and volume["hostPath"]["path"] != "/var/lib/fathom":
                mounts = [m for c in spec["containers"] for m in c.get("volumeMounts", []) if m["name"] == volume["name"]]
                assert mounts and all(m.get("readOnly") for m in mounts), volume["name"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_probes_hit_health_check_and_memory_limiter_sits_under_the_memory_limit(name):
    config = yaml.safe_load((ROOT / "configs" / f"{MANIFESTS[name]}.yaml").read_text())
    health_port = int(config["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1])
    limiter = config["processors"]["memory_limiter"]
    for spec in pod_specs(name):
        fathom = next(c for c in spec["containers"] if c["name"] == "fathom")
        ports = {p["name"]: p["containerPort"] for p in fathom["ports"]}
        assert fathom["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "health"}
        assert fathom["readinessProbe"]["httpGet"] == {"path": "/", "port": "health"}
        assert ports["health"] == health_port
        env = {e["name"]: e.get("value") for e in fathom["env"]}
        limit_mib = int(env["MEMORY_LIMIT_MIB"])
        container_mib = mebibytes(fathom["resources"]["limits"]["memory"])
        assert 0.6 <= limit_mib / container_mib <= 0.85, "memory_limiter should hold well under the kill limit"
        assert limiter["spike_limit_mib"] < limit_mib
        assert shares_process_namespace_with_a_reloader(spec)


def shares_process_namespace_with_a_reloader(spec: dict[str, Any]) -> bool:
    """The ConfigMap reload: a watcher that can see fathom's process and send it SIGHUP."""
    reloader = [c for c in spec["containers"] if c["name"] == "config-reloader"]
    return spec.get("shareProcessNamespace") is True and len(reloader) == 1 and \
        "pkill -HUP" in reloader[0]["args"][0]


def test_the_gateway_has_a_service_and_an_autoscaler_on_its_deployment():
    docs = {(d["kind"], d["metadata"]["name"]): d for d in documents("gateway")}
    deployment = docs[("Deployment", "fathom-gateway")]
    hpa = docs[("HorizontalPodAutoscaler", "fathom-gateway")]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "fathom-gateway"}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for service in ("fathom-gateway", "fathom-gateway-headless"):
        assert docs[("Service", service)]["spec"]["selector"] == labels
    assert docs[("Service", "fathom-gateway-headless")]["spec"]["clusterIP"] == "None"


def test_the_containerfile_compiles_in_a_build_stage_and_runs_as_a_numeric_non_root_user():
    text = (ROOT / "deploy" / "Containerfile").read_text()
    stages = re.findall(r"^FROM .*$", text, re.M)
    assert len(stages) == 2 and stages[0].endswith("AS build")
    runtime = text.rsplit("\nFROM ", 1)[1]
    assert "gcc" not in runtime and "COPY --from=build /wheels" in runtime
    assert re.search(r"^USER 10001:10001$", runtime, re.M)
    assert "_fastpath.COMPILED" in runtime  # the image refuses to ship the pure-Python twin
