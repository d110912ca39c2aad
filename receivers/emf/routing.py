"""Reading the ``_aws.LogGroupName`` / ``LogStreamName`` routing keys of EMF events cheaply.

One regular-expression pass over the whole buffer finds every key; when all
events of a read name the same group and stream (the usual case: one client,
one logger) the buffer is handed on whole. Only a mixed read is split per
line. The events themselves stay raw bytes.
"""

from __future__ import annotations

import re
from typing import Any, Hashable, Iterable, Mapping

import orjson

#: OpenTelemetry semantic conventions (aws.log.*): string arrays.
GROUP_ATTRIBUTE = "aws.log.group.names"
STREAM_ATTRIBUTE = "aws.log.stream.names"

_KEYS = re.compile(rb'"(LogGroupName|LogStreamName)"\s*:\s*"((?:[^"\\\n]|\\.)*)"')
_Key = tuple[bytes, bytes]


def _unescape(raw: bytes) -> str:
    return orjson.loads(b'"' + raw + b'"') if b"\\" in raw else raw.decode("utf-8", "replace")


def _attributes(key: _Key) -> Mapping[str, Any]:
    group, stream = key
    attrs: dict[str, Any] = {}
    if group:
        attrs[GROUP_ATTRIBUTE] = [_unescape(group)]
    if stream:
        attrs[STREAM_ATTRIBUTE] = [_unescape(stream)]
    return attrs


def _line_key(line: bytes) -> _Key:
    group = stream = b""
    for name, value in _KEYS.findall(line):
        if name == b"LogGroupName":
            group = value
        else:
            stream = value
    return group, stream


def route(data: bytes, count: int) -> Iterable[tuple[Hashable, Mapping[str, Any], bytes, int]]:
    """Splits EMF lines by (log group, log stream); yields ``(key, attributes, data, count)``."""
    found = _KEYS.findall(data)
    groups = {v for k, v in found if k == b"LogGroupName"}
    streams = {v for k, v in found if k == b"LogStreamName"}
    n_groups = sum(1 for k, _ in found if k == b"LogGroupName")
    n_streams = len(found) - n_groups
    uniform = len(groups) <= 1 and len(streams) <= 1 and n_groups in (0, count) and n_streams in (0, count)
    if uniform:
        key = (next(iter(groups), b""), next(iter(streams), b""))
        yield key, _attributes(key), data, count
        return
    split: dict[_Key, list[bytes]] = {}
    for line in data.split(b"\n"):
        split.setdefault(_line_key(line), []).append(line)
    for key, lines in split.items():
        yield key, _attributes(key), b"\n".join(lines), len(lines)
