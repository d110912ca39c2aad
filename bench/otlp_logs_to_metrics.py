"""OTLP log records with JSON string bodies through ``logs_to_metrics``: records per second of Pipeline.consume.

    python bench/otlp_logs_to_metrics.py [--records 100000] [--per-request 1000] [--repeat 3]

The records come as an OTLP exporter sends them: requests of ``--per-request``
records under one resource and scope, each record with the same two
attributes (``log.file.name``, ``stream``) and an access-log JSON body. The
rules read body fields and one record attribute, so both the body scan and
the per-record constants are exercised. The requests are decoded before the
clock starts; the time is ``Pipeline.consume`` alone, best of ``--repeat``, in
process CPU seconds (steadier than wall time on a shared machine), for the
scanner the selector picked (``FATHOM_NO_EXTENSIONS=1`` for the twin).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import orjson  # noqa: E402
import yaml  # noqa: E402
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest  # noqa: E402

from _fastpath import COMPILED  # noqa: E402
from collector.connectors.logs_to_metrics import Config, Pipeline  # noqa: E402
from collector.pdata import Logs  # noqa: E402
from collector.pdata.anyvalue import attributes_to_proto  # noqa: E402

RULES = """
parser: json
metrics:
  - {name: http.server.requests, type: counter, dimensions: [service, route, status, attributes.stream]}
  - {name: http.server.duration, type: histogram, value: latency_ms, unit: ms,
     buckets: [5, 10, 25, 50, 100, 250, 500, 1000], dimensions: [service, route]}
"""


def requests(records: int, per_request: int, seed: int = 7) -> list[Logs]:
    rng = random.Random(seed)
    attributes = attributes_to_proto({"log.file.name": "access.log", "stream": "stdout"})
    out = []
    for start in range(0, records, per_request):
        request = ExportLogsServiceRequest()
        rl = request.resource_logs.add()
        rl.resource.attributes.extend(attributes_to_proto({"service.name": "bench"}))
        log_records = rl.scope_logs.add().log_records
        for _ in range(min(per_request, records - start)):
            record = log_records.add()
            record.attributes.extend(attributes)
            record.body.string_value = orjson.dumps({
                "service": f"svc{rng.randrange(5)}", "route": f"/api/r{rng.randrange(50)}",
                "status": rng.choice((200, 200, 200, 404, 500)), "latency_ms": rng.random() * 900,
                "user_id": rng.randrange(100_000), "msg": "request served",
            }).decode()
        out.append(Logs(request=ExportLogsServiceRequest.FromString(request.SerializeToString())))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--per-request", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = Config.model_validate(yaml.safe_load(RULES))
    batches = requests(args.records, args.per_request)
    best = float("inf")
    for _ in range(args.repeat):
        pipeline = Pipeline(config)
        start = time.process_time()
        for batch in batches:
            pipeline.consume(batch, time.time_ns())
        best = min(best, time.process_time() - start)
        points = pipeline.flush(time.time_ns()).item_count()
    print(f"{'compiled' if COMPILED else 'pure-Python'} scanner: {args.records} OTLP records in {best:.3f} CPU s "
          f"({args.records / best:,.0f} records/s), {points} points")


if __name__ == "__main__":
    main()
