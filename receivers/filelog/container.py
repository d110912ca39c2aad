"""Container runtime log files: CRI (containerd, CRI-O) and Docker json-file, as a DaemonSet reads them.

CRI lines are ``<time> <stream> <P|F> <message>``; Docker lines are
``{"log": "message\\n", "stream": "stdout", "time": "..."}``. A long message
is split into partial lines (flag ``P``, or a Docker ``log`` without its
final newline) that are joined here, per stream. The record handed on is the
application's own line, so logs_to_metrics scans it as if read from a plain
file; the stream becomes the ``log.iostream`` attribute. Per-record runtime
times are not kept (a chunk has one observed time).

The pod, namespace and container come from the file path, as kubelet lays
it out: ``/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from receivers.filelog.records import Records, joined
from receivers.lines import Lines

_PODS = re.compile(
    r"/(?P<namespace>[^_/]+)_(?P<pod>[^_/]+)_(?P<uid>[^_/]+)/(?P<container>[^/]+)/(?P<restart>\d+)\.log"
    r"(?:\.\d{8}-\d{6})?(?:\.gz)?$"
)
_CONTAINERS = re.compile(
    r"/(?P<pod>[^_/]+)_(?P<namespace>[^_/]+)_(?P<container>.+)-(?P<id>[0-9a-f]{64})\.log$"
)


def resource_from_path(path: str) -> dict[str, Any]:
    """Kubernetes resource attributes read from a container log path; empty when it is not one."""
    match = _PODS.search(path)
    if match:
        return {"k8s.namespace.name": match["namespace"], "k8s.pod.name": match["pod"],
                "k8s.pod.uid": match["uid"], "k8s.container.name": match["container"],
                "k8s.container.restart_count": match["restart"]}
    match = _CONTAINERS.search(path)
    if match:
        return {"k8s.namespace.name": match["namespace"], "k8s.pod.name": match["pod"],
                "k8s.container.name": match["container"], "container.id": match["id"]}
    return {}


def _parse(line: bytes) -> tuple[bytes, bytes, bool] | None:
    """``(stream, message, partial)``, or None for a line that is neither format."""
    if line.startswith(b"{"):
        try:
            entry = orjson.loads(line)
            text, stream = entry["log"], entry["stream"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None
        if not isinstance(text, str) or not isinstance(stream, str):
            return None
        partial = not text.endswith("\n")
        return stream.encode(), (text if partial else text[:-1]).encode(), partial
    parts = line.split(b" ", 3)
    if len(parts) < 3 or parts[2] not in (b"P", b"F"):
        return None
    return parts[1], parts[3] if len(parts) == 4 else b"", parts[2] == b"P"


class ContainerLines:
    """Joins partial lines per stream, then (with ``pattern``) groups each stream's messages into
    multiline records as :class:`~receivers.filelog.records.Multiline` does; counts lines in neither
    format in ``bad``.

    ``pending`` is counted in file bytes from the first line of the earliest
    message held back (a partial line, or a record that may go on), so the
    checkpoint never passes it.
    """

    def __init__(self, pattern: str = "", *, at_start: bool = True) -> None:
        self._search = re.compile(pattern.encode()).search if pattern else None
        self._at_start = at_start
        self._partial: dict[bytes, list[bytes]] = {}
        self._records: dict[bytes, list[bytes]] = {}  # stream -> messages of its unfinished multiline record
        self._held_raw: dict[tuple[str, bytes], int] = {}  # held item -> bytes from its first line to the end
        self.pending = 0
        self.bad = 0

    def add(self, lines: Lines) -> list[Records]:
        out: dict[bytes, list[bytes]] = {}
        raw = lines.data.split(b"\n")
        remaining = len(lines.data) + 1
        for key in self._held_raw:
            self._held_raw[key] += remaining
        for line in raw:
            parsed = _parse(line)
            if parsed is None:
                if line:
                    self.bad += 1
            else:
                stream, message, partial = parsed
                held = self._partial.get(stream)
                start = remaining if held is None else self._held_raw[("partial", stream)]
                if partial:
                    if held is None:
                        self._partial[stream] = [message]
                        self._held_raw[("partial", stream)] = remaining
                    else:
                        held.append(message)
                else:
                    if held is not None:
                        held.append(message)
                        message = b"".join(held)
                        del self._partial[stream], self._held_raw[("partial", stream)]
                    self._group(stream, message, start, out)
            remaining -= len(line) + 1
        self.pending = max(self._held_raw.values(), default=0)
        return [self._finished(stream, messages) for stream, messages in out.items()]

    def _group(self, stream: bytes, message: bytes, start: int, out: dict[bytes, list[bytes]]) -> None:
        """Hands ``message`` on, or holds it as part of a multiline record (first line ``start`` bytes from the end)."""
        if self._search is None:
            out.setdefault(stream, []).append(message)
            return
        record = self._records.get(stream)
        if self._at_start and record is not None and self._search(message):
            out.setdefault(stream, []).append(b"\n".join(record))
            record = None
        if record is None:
            record = self._records[stream] = []
            self._held_raw[("record", stream)] = start
        record.append(message)
        if not self._at_start and self._search(message):
            out.setdefault(stream, []).append(b"\n".join(record))
            del self._records[stream], self._held_raw[("record", stream)]

    def flush(self) -> list[Records]:
        out: dict[bytes, list[bytes]] = {}
        for stream, parts in self._partial.items():
            self._group(stream, b"".join(parts), 0, out)
        for stream, record in self._records.items():
            out.setdefault(stream, []).append(b"\n".join(record))
        self._partial, self._records, self._held_raw, self.pending = {}, {}, {}, 0
        return [self._finished(stream, messages) for stream, messages in out.items()]

    @staticmethod
    def _finished(stream: bytes, messages: list[bytes]) -> Records:
        records = joined(messages)
        records.attributes = {"log.iostream": stream.decode("utf-8", "replace")}
        return records
