"""``fathom replay``: run log files through a config's ``logs_to_metrics`` rules, offline.

It is how an operator tests rules before deploying them: the same parser,
conditions and aggregation as the running connector, over whole files, with
the resulting series printed as a table, Prometheus text or JSON.
"""

from __future__ import annotations

import gzip
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator

import orjson

from collector.component import Kind
from collector.connectors.logs_to_metrics.config import Config
from collector.connectors.logs_to_metrics.replay import replay as replay_buffers
from collector.errors import CollectorError
from collector.pdata import Metrics
from collector.pdata import metrics as m
from collector.resolve import ResolvedConfig

BLOCK = 4 << 20


class ReplayError(CollectorError):
    pass


def pick_connector(config: ResolvedConfig, wanted: str | None) -> Config:
    """The ``logs_to_metrics`` connector to replay: the one named, or the only one."""
    found = {str(id): spec.config for (kind, id), spec in config.components.items()
             if kind is Kind.CONNECTOR and spec.factory.type == "logs_to_metrics"}
    if wanted is not None:
        if wanted not in found:
            raise ReplayError(f'no logs_to_metrics connector "{wanted}" in the config '
                              f"(it has: {', '.join(sorted(found)) or 'none'})")
        chosen = found[wanted]
    elif len(found) == 1:
        (chosen,) = found.values()
    else:
        raise ReplayError("the config has " + (f"several logs_to_metrics connectors ({', '.join(sorted(found))}): "
                                               "name one with --connector" if found else
                                               "no logs_to_metrics connector to replay"))
    assert isinstance(chosen, Config)
    # A replay sums the whole input: report it as one cumulative interval.
    return chosen.model_copy(update={"temporality": "cumulative"})


@dataclass
class Progress:
    """Lines and bytes read so far, shown on one refreshed line of stderr."""

    stream: IO[str] = field(default_factory=lambda: sys.stderr)
    lines: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.monotonic)
    _shown: float = 0.0

    def add(self, lines: int, size: int) -> None:
        self.lines += lines
        self.bytes += size
        now = time.monotonic()
        if now - self._shown >= 0.2:
            self._shown = now
            self.show()

    def show(self, end: str = "") -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.stream.write(f"\r{self.lines:,} lines, {self.bytes / 1e6:,.1f} MB, "
                          f"{self.lines / elapsed:,.0f} lines/s, {self.bytes / 1e6 / elapsed:,.1f} MB/s{end}")
        self.stream.flush()


def blocks(paths: Iterable[str]) -> Iterator[bytes | memoryview]:
    """Whole-line blocks of about BLOCK bytes from each file (``-`` is stdin, ``.gz`` is unzipped)."""
    for path in paths:
        if path == "-":
            yield from line_blocks(sys.stdin.buffer, rewind=False)
        elif path.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                yield from line_blocks(handle, rewind=False)  # a gzip stream seeks back by starting over
        else:
            with open(path, "rb") as handle:
                yield from line_blocks(handle, rewind=handle.seekable())


def line_blocks(handle: IO[bytes], size: int = BLOCK, rewind: bool = False) -> Iterator[bytes | memoryview]:
    """Blocks of whole lines, each without its last newline, read ``size`` bytes at a time.

    ``rewind``: the partial line at a block's end is read again with the
    next block (the handle seeks back), and the block is a view of what was
    read rather than a copy. Without it, the partial line is carried over
    and joined to the next block. A copy of every block cost a third as
    much as the scan itself (each fresh multi-megabyte buffer is page-faulted
    in anew).
    """
    rest = b""
    while chunk := handle.read(size):
        cut = chunk.rfind(b"\n")
        if cut < 0:  # no line ends in this read: a line longer than the block
            rest += chunk
            continue
        tail = len(chunk) - cut - 1
        if rest:
            block: bytes | memoryview = rest + chunk[:cut]
            rest = b""
        else:
            block = memoryview(chunk)[:cut] if rewind else chunk[:cut]
        if tail and rewind:
            handle.seek(-tail, 1)
        elif tail:
            rest = chunk[cut + 1:]
        del chunk
        yield block
    if rest:
        yield rest


def replay(config: Config, paths: Iterable[str], progress: Progress | None) -> tuple[Metrics, dict[str, int]]:
    result = replay_buffers(config, blocks(paths), on_block=progress.add if progress is not None else None)
    if progress is not None:
        progress.show(end="\n")
    return result


def _value(point: m.Point) -> Any:
    if isinstance(point, m.NumberPoint):
        return point.value
    if isinstance(point, m.HistogramPoint):
        return {"count": point.count, "sum": point.sum,
                "buckets": dict(zip([*map(str, point.bounds), "+Inf"], point.bucket_counts))}
    return {"count": getattr(point, "count", None), "sum": getattr(point, "sum", None)}


def rows(metrics: Metrics) -> list[dict[str, Any]]:
    out = []
    for _, _, metric in metrics.iter_metrics():
        for point in metric.points:
            out.append({"name": metric.name, "type": metric.type.value, "unit": metric.unit,
                        "attributes": dict(point.attributes), "value": _value(point)})
    out.sort(key=lambda r: (r["name"], sorted(r["attributes"].items())))
    return out


def as_json(metrics: Metrics) -> str:
    return orjson.dumps(rows(metrics), option=orjson.OPT_INDENT_2).decode()


def as_table(metrics: Metrics) -> str:
    lines = []
    for r in rows(metrics):
        attrs = ", ".join(f"{k}={v}" for k, v in r["attributes"].items())
        value = r["value"]
        if isinstance(value, dict):
            value = f"count={value['count']} sum={value['sum']:g}"
        lines.append((r["name"], r["type"], attrs, str(value)))
    if not lines:
        return "(no series)"
    widths = [max(len(row[i]) for row in lines + [("metric", "type", "attributes", "value")]) for i in range(4)]
    header = ("metric", "type", "attributes", "value")
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *lines])


def as_prometheus(metrics: Metrics) -> str:
    from exporters.prometheus.render import render

    return render([metrics]).decode()


FORMATS = {"table": as_table, "json": as_json, "prometheus": as_prometheus}

