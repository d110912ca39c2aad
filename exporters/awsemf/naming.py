"""Log group and stream names: placeholders filled from resource attributes, then checked.

The placeholders are those of the OpenTelemetry Collector's awsemf exporter.
Each is looked up first as an attribute of its own name (``{PodName}`` in a
``PodName`` attribute), then under the semantic-convention names listed
here; a placeholder with no value becomes ``undefined``, as there.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "ClusterName": ("aws.ecs.cluster.name", "k8s.cluster.name"),
    "TaskId": ("aws.ecs.task.id",),
    "NodeName": ("k8s.node.name",),
    "PodName": ("pod", "k8s.pod.name"),
    "ServiceName": ("service.name",),
    "ContainerInstanceId": ("aws.ecs.container.instance.id",),
    "TaskDefinitionFamily": ("aws.ecs.task.family",),
    "InstanceId": ("service.instance.id",),
    "FaasName": ("faas.name",),
    "FaasVersion": ("faas.version",),
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_GROUP = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
MAX_NAME = 512


def check_pattern(pattern: str) -> None:
    """Raise ValueError naming an unknown placeholder."""
    if not pattern:
        raise ValueError("must not be empty")
    for key in _PLACEHOLDER.findall(pattern):
        if key not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{key}}}; known: {', '.join('{%s}' % k for k in PLACEHOLDERS)}")


def fill(pattern: str, resource: Mapping[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        for name in (key, *PLACEHOLDERS.get(key, ())):
            found = resource.get(name)
            if found not in (None, ""):
                return str(found)
        return "undefined"

    return _PLACEHOLDER.sub(value, pattern) if "{" in pattern else pattern


def log_group_problem(name: str) -> str | None:
    if not _GROUP.match(name):
        return f"log group name {name[:80]!r} must be 1 to 512 of A-Z a-z 0-9 . - _ / #"
    return None


def log_stream_problem(name: str) -> str | None:
    if not name or len(name) > MAX_NAME or ":" in name or "*" in name:
        return f"log stream name {name[:80]!r} must be 1 to 512 characters without ':' or '*'"
    return None
