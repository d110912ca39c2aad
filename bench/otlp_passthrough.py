"""OTLP log passthrough: load generator -> fathom (otlp receiver -> otlp/otlphttp exporter) -> sink.

Requests of 1,000 log records, each with 8 attributes and a ~250-byte body.
Three processes: a sink that acknowledges and drops, fathom, and the load
generator (this process). For each transport it measures, in one run:

* ``ceiling``: the generator straight into the sink, the most this harness can show;
* ``passthrough``: through fathom, batches forwarded as the bytes received;
* ``reencode``: through fathom, every batch serialized again from its parsed message.

It prints records/s and fathom's CPU seconds per million records (from
/proc, user+system) and fathom's peak RSS.

    python bench/otlp_passthrough.py [--requests 300] [--concurrency 8] [--compression none|gzip]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import random
import string
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RECORDS = 1000


def make_request() -> bytes:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    rng = random.Random(1)
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    for k, v in {"service.name": "checkout", "host.name": "node-7", "k8s.pod.name": "checkout-5d9f"}.items():
        rl.resource.attributes.add(key=k).value.string_value = v
    sl = rl.scope_logs.add()
    sl.scope.name = "bench"
    for i in range(RECORDS):
        rec = sl.log_records.add()
        rec.time_unix_nano = rec.observed_time_unix_nano = 1_700_000_000_000_000_000 + i
        rec.severity_number = 9
        rec.severity_text = "INFO"
        rec.body.string_value = "".join(rng.choices(string.ascii_letters + " ", k=250))
        rec.trace_id = rng.randbytes(16)
        rec.span_id = rng.randbytes(8)
        for a in range(6):
            rec.attributes.add(key=f"attr.{a}").value.string_value = f"value-{rng.randrange(1000)}"
        rec.attributes.add(key="http.status_code").value.int_value = 200
        rec.attributes.add(key="duration_ms").value.double_value = rng.random() * 100
    return req.SerializeToString()


# --- the sink ------------------------------------------------------------------


def run_sink(ports: Any, acked: Any) -> None:
    """Acknowledge and drop; ``acked`` counts requests so runs end when the sink has them all."""
    import grpc
    from aiohttp import web

    from collector.pdata.otlp import WIRES

    async def main() -> None:
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)])
        async def ack_grpc(raw: bytes, context: Any) -> bytes:
            acked.value += 1
            return b""

        async def ack_http(request: Any) -> Any:
            await request.read()
            acked.value += 1
            return web.Response(body=b"", content_type="application/x-protobuf")

        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            w.service, {"Export": grpc.unary_unary_rpc_method_handler(ack_grpc)}) for w in WIRES.values()])
        grpc_port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        app = web.Application(client_max_size=64 << 20)
        for w in WIRES.values():
            app.router.add_post(w.default_path, ack_http)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.put((grpc_port, site._server.sockets[0].getsockname()[1]))
        await asyncio.Event().wait()

    asyncio.run(main())


# --- fathom --------------------------------------------------------------------


class Reencode:
    """Stands in for a processor that changed the batch: the exporter must serialize
    the (already parsed) message again instead of sending the received bytes."""

    mutates_data = False

    def __init__(self, next_: Any) -> None:
        self.next = next_

    async def consume(self, batch: Any) -> None:
        from collector.pdata import Logs

        await self.next.consume(Logs(batch.request))


def run_fathom(transport: str, mode: str, sink_ports: tuple[int, int], compression: str, out: Any) -> None:
    from collector.component import ComponentID, Kind, Settings, Signal
    from collector.telemetry import Telemetry
    from exporters import otlp, otlphttp
    from receivers import otlp as otlp_receiver

    async def main() -> None:
        telemetry = Telemetry("bench")

        def settings(id: str, kind: Kind) -> Settings:
            cid = ComponentID.parse(id)
            return Settings(cid, kind, logging.getLogger(id), telemetry.for_component(cid, kind), frozenset(Signal))

        if transport == "grpc":
            config = otlp.OtlpExporterConfig(endpoint=f"127.0.0.1:{sink_ports[0]}", tls={"insecure": True},
                                             compression=compression)
            exporter = otlp.factory.create(settings("otlp", Kind.EXPORTER), config)
        else:
            config = otlphttp.OtlpHttpExporterConfig(endpoint=f"http://127.0.0.1:{sink_ports[1]}",
                                                     compression=compression)
            exporter = otlphttp.factory.create(settings("otlphttp", Kind.EXPORTER), config)
        await exporter.start(None)
        consumer = exporter if mode == "passthrough" else Reencode(exporter)
        rconfig = otlp_receiver.OtlpReceiverConfig.model_validate({"protocols": {
            "grpc": {"endpoint": "127.0.0.1:0", "max_recv_msg_size_mib": 64},
            "http": {"endpoint": "127.0.0.1:0"}}})
        receiver = otlp_receiver.factory.create(settings("otlp", Kind.RECEIVER), rconfig, {Signal.LOGS: consumer})
        await receiver.start(None)
        out.put((receiver.grpc.port, receiver.http.port))
        await asyncio.Event().wait()

    try:
        import uvloop  # the daemon's loop when installed
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())


# --- the load generator --------------------------------------------------------


async def generate(transport: str, port: int, body: bytes, requests: int, concurrency: int, acked: Any) -> float:
    """Send ``requests`` copies of ``body``; seconds until the sink has acknowledged them all."""
    import aiohttp
    import grpc

    from collector.component import Signal
    from collector.pdata.otlp import WIRES

    todo = iter(range(requests))
    if transport == "grpc":
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 << 20)])
        call = channel.unary_unary(WIRES[Signal.LOGS].grpc_method)

        async def send() -> None:
            await call(body, timeout=30)
    else:
        session = aiohttp.ClientSession(headers={"Content-Type": "application/x-protobuf"})
        url = f"http://127.0.0.1:{port}/v1/logs"

        async def send() -> None:
            async with session.post(url, data=body) as r:
                await r.read()
                assert r.status == 200, r.status

    async def worker() -> None:
        for _ in todo:
            await send()

    target = acked.value + requests + 1  # +1: the warm-up request
    await send()  # warm up connections
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    while acked.value < target:  # fathom may still be draining its sending queue
        await asyncio.sleep(0.005)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--compression", choices=["none", "gzip"], default="none",
                        help="fathom's exporter compression (the generator never compresses)")
    parser.add_argument("--transports", default="http,grpc")
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    body = make_request()
    print(f"request: {RECORDS} records, {len(body) / 1024:.0f} KiB; {args.requests} requests per run, "
          f"concurrency {args.concurrency}, exporter compression {args.compression}")
    q = ctx.Queue()
    acked = ctx.Value("q", 0, lock=False)
    sink = ctx.Process(target=run_sink, args=(q, acked), daemon=True)
    sink.start()
    sink_ports = q.get(timeout=30)
    total = args.requests * RECORDS
    print(f"{'transport':9} {'run':12} {'records/s':>10} {'fathom CPU s/M':>15} {'sink CPU s/M':>13} {'fathom RSS MB':>14}")
    try:
        for transport in args.transports.split(","):
            sink_port = sink_ports[0] if transport == "grpc" else sink_ports[1]
            sink_cpu = cpu_seconds(sink.pid)
            elapsed = asyncio.run(generate(transport, sink_port, body, args.requests, args.concurrency, acked))
            sink_used = cpu_seconds(sink.pid) - sink_cpu
            print(f"{transport:9} {'ceiling':12} {total / elapsed:10.0f} {'-':>15} {sink_used / total * 1e6:13.2f} {'-':>14}")
            for mode in ("passthrough", "reencode"):
                fathom = ctx.Process(target=run_fathom, daemon=True,
                                     args=(transport, mode, sink_ports, args.compression, q))
                fathom.start()
                ports = q.get(timeout=30)
                port = ports[0] if transport == "grpc" else ports[1]
                asyncio.run(generate(transport, port, body, 20, args.concurrency, acked))  # warm up
                before, sink_cpu = cpu_seconds(fathom.pid), cpu_seconds(sink.pid)
                elapsed = asyncio.run(generate(transport, port, body, args.requests, args.concurrency, acked))
                used = cpu_seconds(fathom.pid) - before
                sink_used = cpu_seconds(sink.pid) - sink_cpu
                print(f"{transport:9} {mode:12} {total / elapsed:10.0f} {used / total * 1e6:15.2f} "
                      f"{sink_used / total * 1e6:13.2f} {peak_rss_mb(fathom.pid):14.0f}")
                fathom.terminate()
                fathom.join()
    finally:
        sink.terminate()
        sink.join()


if __name__ == "__main__":
    main()
