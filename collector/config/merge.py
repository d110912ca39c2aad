"""Several config files into one, in order, as the OpenTelemetry Collector's confmap merges them.

Mappings merge key by key, deeply; any other later value (scalar, list, null)
replaces the earlier one whole, lists included. Facts recorded per key path
(source positions, the raw text of expanded values) follow the value that won.
"""

from __future__ import annotations

from typing import Any, Mapping, MutableMapping, Sequence

from collector.config.issues import Path

#: (the merged facts, the facts of the file being merged in), keyed by path.
PathFacts = tuple[MutableMapping[Path, Any], Mapping[Path, Any]]


def merge_into(target: dict[str, Any], source: Mapping[str, Any], facts: Sequence[PathFacts], base: Path = ()) -> None:
    """Merge ``source`` into ``target`` in place; ``source`` values are taken, not copied."""
    for key, value in source.items():
        path = base + (key,)
        earlier = target.get(key)
        if isinstance(earlier, dict) and isinstance(value, dict):
            merge_into(earlier, value, facts, path)
            continue
        target[key] = value
        for merged, incoming in facts:
            _replace_subtree(merged, incoming, path)


def _replace_subtree(merged: MutableMapping[Path, Any], incoming: Mapping[Path, Any], path: Path) -> None:
    depth = len(path)
    for stale in [p for p in merged if p[:depth] == path]:
        del merged[stale]
    merged.update((p, fact) for p, fact in incoming.items() if p[:depth] == path)
