"""The ``k8sattributes`` processor, for sidecars and DaemonSets without Kubernetes API access.

Three sources, none of which needs the API server:

* **Downward API environment variables** (``env``: attribute -> variable),
  read once at start and inserted into every resource (never overriding
  what the data already says). In a DaemonSet these describe the agent's own
  pod, so keep only ``k8s.node.name`` there.
* **Downward API volume files** (``podinfo_dir``): ``labels`` and
  ``annotations`` (``key="value"`` lines, as the kubelet writes them)
  become ``k8s.pod.label.<key>`` and ``k8s.pod.annotation.<key>``; the files
  named in ``files`` (attribute -> file name) give one value each.
* **Container log paths**: a ``log.file.path`` attribute of the form
  ``/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log``
  gives ``k8s.namespace.name``, ``k8s.pod.name``, ``k8s.pod.uid``,
  ``k8s.container.name`` and ``k8s.container.restart_count``, set beside
  the path (on the resource, the record or the line chunk that carries it),
  overriding the static values: in a DaemonSet the path names the right pod.

```yaml
processors:
  k8sattributes:
    env: {k8s.node.name: K8S_NODE_NAME}        # a DaemonSet: only the node is ours
    podinfo_dir: /etc/podinfo
    files: {k8s.pod.name: name, k8s.namespace.name: namespace}
```
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

from pydantic import Field

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.pdata import Batch
from collector.processors.editing import edit_batch

DEFAULT_ENV = {
    "k8s.pod.name": "K8S_POD_NAME",
    "k8s.pod.uid": "K8S_POD_UID",
    "k8s.pod.ip": "K8S_POD_IP",
    "k8s.namespace.name": "K8S_NAMESPACE_NAME",
    "k8s.node.name": "K8S_NODE_NAME",
    "k8s.container.name": "K8S_CONTAINER_NAME",
}
_LOG_PATH = re.compile(
    r"/var/log/pods/(?P<ns>[^_/]+)_(?P<pod>[^_/]+)_(?P<uid>[^_/]+)/(?P<container>[^/]+)/(?P<restart>\d+)\.log(?:\.[^/]*)?$"
)
_DOWNWARD_LINE = re.compile(r'^([^=]+)="((?:[^"\\]|\\.)*)"$')


class K8sAttributesConfig(ComponentConfig):
    env: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ENV),
                                description="Resource attribute -> Downward API environment variable.")
    podinfo_dir: str | None = Field(None, description="Downward API volume mount holding `labels` and `annotations`.")
    files: dict[str, str] = Field(default_factory=dict, description="Resource attribute -> file name in podinfo_dir.")
    from_log_path: bool = Field(True, description="Read pod and container from `log.file.path` (/var/log/pods/...).")


def static_attributes(config: K8sAttributesConfig, environ: Mapping[str, str]) -> dict[str, Any]:
    """What the environment and the downward volume say about this pod; missing sources are skipped."""
    out: dict[str, Any] = {attr: environ[var] for attr, var in config.env.items() if environ.get(var)}
    if config.podinfo_dir:
        root = Path(config.podinfo_dir)
        for name, prefix in (("labels", "k8s.pod.label."), ("annotations", "k8s.pod.annotation.")):
            for key, value in parse_downward(_read(root / name)).items():
                out[prefix + key] = value
        for attr, file in config.files.items():
            value = _read(root / file).strip()
            if value:
                out[attr] = value
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def parse_downward(text: str) -> dict[str, str]:
    """``key="value"`` lines as the kubelet writes labels and annotations (values Go-quoted)."""
    out = {}
    for line in text.splitlines():
        m = _DOWNWARD_LINE.match(line.strip())
        if m:
            out[m.group(1)] = re.sub(r"\\(.)", lambda e: {"n": "\n", "t": "\t"}.get(e.group(1), e.group(1)), m.group(2))
    return out


def from_log_path(path: Any) -> dict[str, Any]:
    """Pod and container attributes from a kubelet container log path; empty when it is not one."""
    m = _LOG_PATH.search(path) if isinstance(path, str) else None
    if m is None:
        return {}
    return {"k8s.namespace.name": m["ns"], "k8s.pod.name": m["pod"], "k8s.pod.uid": m["uid"],
            "k8s.container.name": m["container"], "k8s.container.restart_count": int(m["restart"])}


class K8sAttributes:
    mutates_data = True

    def __init__(self, settings: Settings, config: K8sAttributesConfig, next: Consumer,
                 environ: Mapping[str, str] = os.environ) -> None:
        self._signal = settings.signal
        self._config = config
        self._next = next
        self._static = static_attributes(config, environ)

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def _resource(self, attrs: dict[str, Any]) -> bool:
        changed = False
        for k, v in self._static.items():
            if k not in attrs:
                attrs[k] = v
                changed = True
        return self._path(attrs) or changed

    def _path(self, attrs: dict[str, Any]) -> bool:
        found = from_log_path(attrs.get("log.file.path")) if self._config.from_log_path else {}
        found = {k: v for k, v in found.items() if attrs.get(k) != v}
        attrs.update(found)
        return bool(found)

    async def consume(self, batch: Batch) -> None:
        logs = self._signal is Signal.LOGS and self._config.from_log_path
        if self._static or logs:
            batch = edit_batch(batch, resource=self._resource, item=self._path if logs else None)
        await self._next.consume(batch)


def create(settings: Settings, config: K8sAttributesConfig, next: Consumer) -> K8sAttributes:
    return K8sAttributes(settings, config, next)


factory = Factory(
    type="k8sattributes",
    kind=Kind.PROCESSOR,
    config=K8sAttributesConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA, Signal.METRICS: Stability.ALPHA, Signal.TRACES: Stability.ALPHA},
    description="Adds pod, namespace, node and container from the Downward API and container log paths.",
)
