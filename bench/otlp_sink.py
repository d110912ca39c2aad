"""An OTLP/HTTP logs sink for benchmarks: accepts every request, counts the records, reports on GET /count.

    python bench/otlp_sink.py PORT

Runs in its own process, so decoding what arrives is not counted against the
collector being measured. Each collector under test sends to the same sink.
"""

from __future__ import annotations

import sys
import time

from aiohttp import web
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

counts = {"records": 0, "requests": 0, "bytes": 0, "last": 0.0}


async def logs(request: web.Request) -> web.Response:
    body = await request.read()  # aiohttp has undone the Content-Encoding
    message = ExportLogsServiceRequest.FromString(body)
    counts["records"] += sum(len(sl.log_records) for rl in message.resource_logs for sl in rl.scope_logs)
    counts["requests"] += 1
    counts["bytes"] += len(body)
    counts["last"] = time.monotonic()
    return web.Response(body=b"", content_type="application/x-protobuf")


async def count(_: web.Request) -> web.Response:
    """What arrived so far, with the sink's own CPU seconds (to show it was not the bottleneck)."""
    return web.json_response({**counts, "cpu": time.process_time()})


if __name__ == "__main__":
    app = web.Application(client_max_size=256 << 20)
    app.add_routes([web.post("/v1/logs", logs), web.get("/count", count)])
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
