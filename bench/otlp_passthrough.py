"""OTLP passthrough, fathom against rotel in the same run: generator -> collector -> sink.

Workloads: logs requests of 1,000 records with 8 attributes and ~250-byte
bodies (random letters, or JSON access-log lines with ``--bodies access``), and metrics requests of 1,000 data points (sums, gauges and
histograms with 4 attributes each). Every run has three processes: a sink
that counts items and drops them, the collector under test, and the load
generator (this process, never compressing). For each signal, transport
(OTLP/HTTP or OTLP/gRPC) and exporter compression, one run measures:

* ``ceiling``: the generator straight into the sink, the most this harness can show;
* ``fathom pass``: otlp receiver -> otlp/otlphttp exporter, forwarding the bytes received;
* ``fathom reenc``: the same with every batch decoded into fathom's model and encoded again
  (logs: the OTLP message; metrics: the internal metric model);
* ``rotel``: the Rust collector from PyPI (installed into bench/.peers/ on first use) with
  its defaults, which decode, batch and re-encode everything.

Printed per row: items/s (until the sink has them all), the collector's CPU
seconds per million items (utime+stime from /proc, all threads), its peak RSS
(VmHWM), the sink's CPU per million items and, over HTTP, the share of
requests that reached the sink compressed; then fathom/rotel ratios.

rotel 0.0.1a15 gzips its exports even when told ``none`` (by flag or
environment; the sink gz column shows it), so it runs once per transport, as
the gzip peer, and every fathom row is compared with that run.

fathom's sending queue blocks when full (by batches or by bytes) rather
than drop: the run waits for every item, and a collector slower than the
generator holds its queue's bound, not the whole run, in memory.

    python bench/otlp_passthrough.py [--signals logs,metrics] [--transports http,grpc]
        [--compressions none,gzip,zstd] [--requests 300] [--concurrency 8] [--no-rotel]
        [--queue-size N] [--queue-mib N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import random
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ITEMS = 1000


def make_logs_request(bodies: str = "random") -> bytes:
    """``bodies``: ``random`` letters (the worst case for compression) or JSON ``access`` log lines."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from access_log_gen import lines

    rng = random.Random(1)
    access = lines(ITEMS)
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    for k, v in {"service.name": "checkout", "host.name": "node-7", "k8s.pod.name": "checkout-5d9f"}.items():
        rl.resource.attributes.add(key=k).value.string_value = v
    sl = rl.scope_logs.add()
    sl.scope.name = "bench"
    for i in range(ITEMS):
        rec = sl.log_records.add()
        rec.time_unix_nano = rec.observed_time_unix_nano = 1_700_000_000_000_000_000 + i
        rec.severity_number = 9
        rec.severity_text = "INFO"
        rec.body.string_value = (next(access) if bodies == "access"
                                 else "".join(rng.choices(string.ascii_letters + " ", k=250)))
        rec.trace_id = rng.randbytes(16)
        rec.span_id = rng.randbytes(8)
        for a in range(6):
            rec.attributes.add(key=f"attr.{a}").value.string_value = f"value-{rng.randrange(1000)}"
        rec.attributes.add(key="http.status_code").value.int_value = 200
        rec.attributes.add(key="duration_ms").value.double_value = rng.random() * 100
    return req.SerializeToString()


def make_metrics_request() -> bytes:
    """50 metrics x 20 points: 20 cumulative sums, 20 gauges, 10 ten-bucket histograms."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    rng = random.Random(1)
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for k, v in {"service.name": "checkout", "host.name": "node-7", "k8s.pod.name": "checkout-5d9f"}.items():
        rm.resource.attributes.add(key=k).value.string_value = v
    sm = rm.scope_metrics.add()
    sm.scope.name = "bench"
    start, now = 1_700_000_000_000_000_000, 1_700_000_060_000_000_000
    for m in range(50):
        metric = sm.metrics.add(name=f"bench.metric.{m}", unit="ms", description="a benchmark metric")
        if m < 20:
            metric.sum.aggregation_temporality = 2
            metric.sum.is_monotonic = True
            points = metric.sum.data_points
        elif m < 40:
            points = metric.gauge.data_points
        else:
            metric.histogram.aggregation_temporality = 2
            points = metric.histogram.data_points
        for p in range(20):
            point = points.add(start_time_unix_nano=start, time_unix_nano=now)
            for a, value in enumerate(("GET", f"/api/v{p % 3}/items", str(200 + p % 5 * 100), f"zone-{p % 4}")):
                point.attributes.add(key=f"attr.{a}").value.string_value = value
            if m < 40:
                point.as_double = rng.random() * 1000
            else:
                point.explicit_bounds.extend([5, 10, 25, 50, 100, 250, 500, 1000, 2500])
                point.bucket_counts.extend(rng.randrange(100) for _ in range(10))
                point.count = sum(point.bucket_counts)
                point.sum = rng.random() * 1e5
    return req.SerializeToString()


REQUESTS: dict[str, Callable[[str], bytes]] = {"logs": make_logs_request, "metrics": lambda _: make_metrics_request()}


# --- the sink ------------------------------------------------------------------


def run_sink(ports: Any, acked: Any, http_requests: Any, http_compressed: Any) -> None:
    """Count the items of every request (decompressed by grpc or aiohttp) into ``acked``, drop them.

    Over HTTP it also counts requests and those that came with a Content-Encoding,
    to show what each collector really sent (grpcio hides a call's compression).
    """
    import grpc
    from aiohttp import web

    from collector.pdata.otlp import WIRES
    from receivers.otlp.wirecount import count_items

    async def main() -> None:
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", 256 << 20)])
        app = web.Application(client_max_size=256 << 20)
        handlers = []
        for signal, wire in WIRES.items():
            async def ack_grpc(raw: bytes, context: Any, signal: Any = signal) -> bytes:
                acked.value += count_items(signal, raw)
                return b""

            async def ack_http(request: Any, signal: Any = signal) -> Any:
                body = await request.read()  # before touching acked: no await inside the +=
                acked.value += count_items(signal, body)
                http_requests.value += 1
                http_compressed.value += bool(request.headers.get("Content-Encoding"))
                return web.Response(body=b"", content_type="application/x-protobuf")

            handlers.append(grpc.method_handlers_generic_handler(
                wire.service, {"Export": grpc.unary_unary_rpc_method_handler(ack_grpc)}))
            app.router.add_post(wire.default_path, ack_http)
        server.add_generic_rpc_handlers(handlers)
        grpc_port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.put((grpc_port, site._server.sockets[0].getsockname()[1]))
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the collectors --------------------------------------------------------------


def reencoded(batch: Any) -> Any:
    """The batch decoded into fathom's model and left without its received bytes."""
    from collector.pdata import Logs, Metrics

    if isinstance(batch, Metrics):
        return Metrics(batch.resource_metrics)
    return Logs(batch.request)


class Reencode:
    """Stands in for a processor that changed the batch: the exporter must encode it again."""

    mutates_data = False

    def __init__(self, next_: Any) -> None:
        self.next = next_

    async def consume(self, batch: Any) -> None:
        await self.next.consume(reencoded(batch))


def run_fathom(transport: str, mode: str, sink_ports: tuple[int, int], compression: str, queue_size: int,
               queue_mib: int, out: Any) -> None:
    from collector.component import ComponentID, Kind, Settings, Signal
    from collector.telemetry import Telemetry
    from exporters import otlp, otlphttp
    from receivers import otlp as otlp_receiver

    async def main() -> None:
        telemetry = Telemetry("bench")

        def settings(id: str, kind: Kind) -> Settings:
            cid = ComponentID.parse(id)
            return Settings(cid, kind, logging.getLogger(id), telemetry.for_component(cid, kind), frozenset(Signal))

        # The sending queue blocks when full (queue_size batches or max_size_mib bytes): it
        # pushes back on the client instead of dropping, which a run that waits for every item
        # needs; the memory a passthrough holds is then about the queue's bound.
        queue = {"sending_queue": {"blocking": True, **({"queue_size": queue_size} if queue_size else {}),
                                   **({"max_size_mib": queue_mib} if queue_mib >= 0 else {})}}
        if transport == "grpc":
            config = otlp.OtlpExporterConfig(endpoint=f"127.0.0.1:{sink_ports[0]}", tls={"insecure": True},
                                             compression=compression, **queue)
            exporter = otlp.factory.create(settings("otlp", Kind.EXPORTER), config)
        else:
            config = otlphttp.OtlpHttpExporterConfig(endpoint=f"http://127.0.0.1:{sink_ports[1]}",
                                                     compression=compression, **queue)
            exporter = otlphttp.factory.create(settings("otlphttp", Kind.EXPORTER), config)
        await exporter.start(None)
        consumer = exporter if mode == "pass" else Reencode(exporter)
        rconfig = otlp_receiver.OtlpReceiverConfig.model_validate({"protocols": {
            "grpc": {"endpoint": "127.0.0.1:0", "max_recv_msg_size_mib": 64},
            "http": {"endpoint": "127.0.0.1:0"}}})
        receiver = otlp_receiver.factory.create(
            settings("otlp", Kind.RECEIVER), rconfig, {Signal.LOGS: consumer, Signal.METRICS: consumer})
        await receiver.start(None)
        out.put((receiver.grpc.port, receiver.http.port))
        await asyncio.Event().wait()

    try:
        import uvloop  # the daemon's loop when installed
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())


@dataclass
class Running:
    pid: int
    grpc_port: int
    http_port: int
    stop: Callable[[], None]


def start_fathom(ctx: Any, transport: str, mode: str, sink_ports: tuple[int, int], compression: str,
                 queue_size: int, queue_mib: int) -> Running:
    q = ctx.Queue()
    proc = ctx.Process(target=run_fathom, args=(transport, mode, sink_ports, compression, queue_size, queue_mib, q),
                       daemon=True)
    proc.start()
    grpc_port, http_port = q.get(timeout=30)

    def stop() -> None:
        proc.terminate()
        proc.join()

    return Running(proc.pid, grpc_port, http_port, stop)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_rotel(transport: str, sink_ports: tuple[int, int], compression: str) -> Running:
    from peers import rotel_binary, rotel_command

    grpc_port, http_port = free_port(), free_port()
    sink = f"http://127.0.0.1:{sink_ports[0] if transport == 'grpc' else sink_ports[1]}"
    proc = subprocess.Popen(rotel_command(rotel_binary(), grpc_port, http_port, transport, sink, compression),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    for port in (grpc_port, http_port):
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"rotel did not start (exit code {proc.poll()})") from None
                time.sleep(0.05)

    def stop() -> None:
        proc.terminate()
        proc.wait(10)

    return Running(proc.pid, grpc_port, http_port, stop)


# --- the load generator --------------------------------------------------------


async def generate(signal: str, transport: str, port: int, body: bytes, requests: int, concurrency: int,
                   acked: Any) -> float:
    """Send ``requests`` copies of ``body``; seconds until the sink has counted all their items."""
    import aiohttp
    import grpc

    from collector.component import Signal
    from collector.pdata.otlp import WIRES

    wire = WIRES[Signal(signal)]
    todo = iter(range(requests))
    if transport == "grpc":
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 << 20)])
        call = channel.unary_unary(wire.grpc_method)

        async def send() -> None:
            await call(body, timeout=30)
    else:
        session = aiohttp.ClientSession(headers={"Content-Type": "application/x-protobuf"})
        url = f"http://127.0.0.1:{port}{wire.default_path}"

        async def send() -> None:
            async with session.post(url, data=body) as r:
                await r.read()
                assert r.status == 200, r.status

    async def worker() -> None:
        for _ in todo:
            await send()

    target = acked.value + requests * ITEMS
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    while acked.value < target:  # the collector may still be draining its queue or batch
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - start
    if transport == "grpc":
        await channel.close()
    else:
        await session.close()
    return elapsed


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Row:
    subject: str
    rate: float
    cpu_per_m: float | None
    rss_mb: float | None
    sink_cpu_per_m: float
    #: share of the requests the sink got compressed (HTTP only)
    compressed: float | None

    def __str__(self) -> str:
        cpu = f"{self.cpu_per_m:8.2f}" if self.cpu_per_m is not None else f"{'-':>8}"
        rss = f"{self.rss_mb:7.0f}" if self.rss_mb is not None else f"{'-':>7}"
        gz = f"{self.compressed:8.0%}" if self.compressed is not None else f"{'-':>8}"
        return f"{self.subject:13} {self.rate:10.0f} {cpu} {rss} {self.sink_cpu_per_m:8.2f} {gz}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--signals", default="logs,metrics")
    parser.add_argument("--transports", default="http,grpc")
    parser.add_argument("--compressions", default="none,gzip",
                        help="the collectors' exporter compression: none, gzip, zstd (fathom over HTTP only)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-rotel", action="store_true", help="fathom only")
    parser.add_argument("--bodies", choices=["random", "access"], default="random",
                        help="log bodies: random letters (compress worst) or JSON access-log lines")
    parser.add_argument("--queue-size", type=int, default=0,
                        help="fathom's sending queue in batches (always blocking when full); 0: the exporter default")
    parser.add_argument("--queue-mib", type=int, default=-1,
                        help="fathom's sending queue bound in MiB (max_size_mib); -1: the exporter default")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    acked, http_requests, http_compressed = (ctx.Value("q", 0, lock=False) for _ in range(3))
    sink = ctx.Process(target=run_sink, args=(q, acked, http_requests, http_compressed), daemon=True)
    sink.start()
    sink_ports = q.get(timeout=30)
    print(f"{args.requests} requests of {ITEMS} items per run, concurrency {args.concurrency}; "
          f"cpu = CPU s per million items, rss = peak MB")
    try:
        for signal in args.signals.split(","):
            body = REQUESTS[signal](args.bodies)
            for transport in args.transports.split(","):
                def run(port: int, requests: int) -> float:
                    return asyncio.run(generate(signal, transport, port, body, requests, args.concurrency, acked))

                def timed(subject: str, running: Running | None) -> Row:
                    if running is not None:
                        run(running.grpc_port if transport == "grpc" else running.http_port, 20)  # warm up
                        port, pid = (running.grpc_port if transport == "grpc" else running.http_port), running.pid
                        before = cpu_seconds(pid)
                    else:
                        port = sink_ports[0] if transport == "grpc" else sink_ports[1]
                    sink_before = cpu_seconds(sink.pid)
                    http_requests.value = http_compressed.value = 0
                    elapsed = run(port, args.requests)
                    items = args.requests * ITEMS
                    sink_cpu = (cpu_seconds(sink.pid) - sink_before) / items * 1e6
                    compressed = http_compressed.value / http_requests.value if transport == "http" else None
                    if running is None:
                        return Row(subject, items / elapsed, None, None, sink_cpu, compressed)
                    return Row(subject, items / elapsed, (cpu_seconds(pid) - before) / items * 1e6,
                               peak_rss_mb(pid), sink_cpu, compressed)

                print(f"\n{signal} over OTLP/{transport.upper()}, {len(body) / 1024:.0f} KiB requests")
                print(f"{'compression':11} {'subject':13} {'items/s':>10} {'cpu':>8} {'rss':>7} {'sink cpu':>8} "
                      f"{'sink gz':>8}")
                print(f"{'-':11} {timed('ceiling', None)}")
                peer: Row | None = None
                if not args.no_rotel:  # rotel gzips whatever it is told: run it once, as it is
                    running = start_rotel(transport, sink_ports, "gzip")
                    try:
                        peer = timed("rotel", running)
                    finally:
                        running.stop()
                    print(f"{'gzip':11} {peer}")
                for compression in args.compressions.split(","):
                    if compression == "zstd" and transport == "grpc":
                        continue  # grpcio offers gzip and deflate only
                    rows: dict[str, Row] = {}
                    for mode in ("pass", "reenc"):
                        running = start_fathom(ctx, transport, mode, sink_ports, compression, args.queue_size,
                                               args.queue_mib)
                        try:
                            rows[mode] = timed(f"fathom {mode}", running)
                        finally:
                            running.stop()
                        print(f"{compression:11} {rows[mode]}")
                    if peer is not None:
                        print(f"{compression:11} fathom/rotel: pass {rows['pass'].rate / peer.rate:.2f}x, "
                              f"reenc {rows['reenc'].rate / peer.rate:.2f}x items/s; "
                              f"cpu/item pass {rows['pass'].cpu_per_m / peer.cpu_per_m:.2f}x, "
                              f"reenc {rows['reenc'].cpu_per_m / peer.cpu_per_m:.2f}x")
    finally:
        sink.terminate()
        sink.join()


if __name__ == "__main__":
    main()
