"""Log-source throughput: filelog into logs_to_metrics, and EMF events over TCP and UDP.

    python bench/filelog.py [--lines 1000000] [--emf-events 200000] [--skip-emf]

filelog reads a generated JSON access log (bench/access_log_gen.py, ~250
bytes a line) from the beginning, in-process, into the logs_to_metrics
connector (a counter by service/route/method/status and a latency histogram)
or into nothing (`null`: the receiver's own cost). Figures: MB/s, lines/s and
CPU seconds per million lines. EMF events are sent by a separate process so
its CPU is not counted; a burst of UDP datagrams overflows the kernel's
receive buffer, so UDP figures say what arrived and over what time.
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
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), HERE]

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
        with open(path, "wb") as f:
            f.write(generate(args.lines))
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
    parser.add_argument("--no-uvloop", action="store_true", help="the default asyncio loop instead of uvloop")
    options = parser.parse_args()
    if options.no_uvloop:
        asyncio.run(main(options))
    else:
        import uvloop

        uvloop.run(main(options))
