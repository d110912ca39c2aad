"""k8sattributes: Downward API env vars and volume files, and container log paths, in real pipelines."""

from __future__ import annotations

from collector.pdata import LineChunk, Logs
from collector.pdata.anyvalue import attributes_from_proto
from collector.processors.k8sattributes import from_log_path, parse_downward
from tests.processors.conftest import gauge, log_batch, metric_batch, records

POD_LOG = "/var/log/pods/shop_checkout-7d9f_0f1e2d3c-aaaa/server/2.log"


def test_downward_format_and_log_paths():
    text = 'app="checkout"\ncontroller-revision-hash="7d9f"\nnote="say \\"hi\\"\\nbye"\nbroken line\n'
    assert parse_downward(text) == {"app": "checkout", "controller-revision-hash": "7d9f", "note": 'say "hi"\nbye'}
    assert from_log_path(POD_LOG) == {"k8s.namespace.name": "shop", "k8s.pod.name": "checkout-7d9f",
                                      "k8s.pod.uid": "0f1e2d3c-aaaa", "k8s.container.name": "server",
                                      "k8s.container.restart_count": 2}
    assert from_log_path("/var/log/pods/shop_checkout_uid/server/0.log.20240501-120000")["k8s.pod.uid"] == "uid"
    assert from_log_path("/var/log/syslog") == {} and from_log_path(None) == {}


async def test_sidecar_env_and_files_on_metrics(run_pipeline, monkeypatch, tmp_path):
    monkeypatch.setenv("K8S_NODE_NAME", "node-1")
    monkeypatch.setenv("K8S_POD_NAME", "checkout-7d9f")
    (tmp_path / "labels").write_text('app="checkout"\ntier="web"\n')
    (tmp_path / "annotations").write_text('owner="payments"\n')
    (tmp_path / "namespace").write_text("shop\n")
    config = f"k8sattributes: {{podinfo_dir: '{tmp_path}', files: {{k8s.namespace.name: namespace, k8s.x: missing}}}}"
    out = await run_pipeline(config, "metrics", [metric_batch([gauge("g", ({}, 1.0))], resource={"k8s.pod.name": "keep"})])
    assert dict(out[0].resource_metrics[0].resource.attributes) == {
        "k8s.pod.name": "keep", "k8s.node.name": "node-1", "k8s.pod.label.app": "checkout",
        "k8s.pod.label.tier": "web", "k8s.pod.annotation.owner": "payments", "k8s.namespace.name": "shop"}


async def test_daemonset_log_paths_on_chunks_and_records(run_pipeline, monkeypatch):
    monkeypatch.setenv("K8S_NODE_NAME", "node-1")
    monkeypatch.setenv("K8S_POD_NAME", "the-agent")
    config = "k8sattributes: {env: {k8s.node.name: K8S_NODE_NAME}}"
    chunk = LineChunk(b"x\ny", 2, attributes={"log.file.path": POD_LOG})
    out = await run_pipeline(config, "logs", [Logs(chunks=[chunk])])
    got = out[0].chunks[0]
    assert dict(got.resource) == {"k8s.node.name": "node-1"}
    assert dict(got.attributes)["k8s.pod.name"] == "checkout-7d9f"
    out = await run_pipeline(config, "logs", [log_batch([{"body": "x", "attributes": {"log.file.path": POD_LOG}}])])
    (rec,) = records(out)
    assert attributes_from_proto(rec.attributes)["k8s.container.name"] == "server"
    assert attributes_from_proto(out[0].request.resource_logs[0].resource.attributes) == {"k8s.node.name": "node-1"}
