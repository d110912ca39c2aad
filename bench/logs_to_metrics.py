"""logs_to_metrics throughput: compiled fast path vs the pure-Python twin, checked against a reference.

    python bench/logs_to_metrics.py [--lines 1000000] [--chunk-lines 10000] [--twin c|py]

Each twin runs in its own subprocess so its peak RSS is its own. Three rules:
a counter by service, route, method, status; a latency histogram by
service and route; a counter by user_id (100,000 distinct values).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from bisect import bisect_left
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), HERE]

import yaml  # noqa: E402

BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1000]
RULES = f"""
parser: json
metrics:
  - {{name: http.server.requests, type: counter, dimensions: [service, route, method, status],
     cardinality_limit: 1000000}}
  - {{name: http.server.duration, type: histogram, value: latency_ms, unit: ms, buckets: {BUCKETS},
     dimensions: [service, route]}}
  - {{name: user.requests, type: counter, dimensions: [user_id], cardinality_limit: 1000000}}
"""


def chunks(data: bytes, lines_per_chunk: int) -> list[bytes]:
    out, start, n = [], 0, 0
    while start < len(data):
        end = start
        for _ in range(lines_per_chunk):
            end = data.find(b"\n", end) + 1
            if end == 0:
                end = len(data)
                break
        out.append(data[start:end].rstrip(b"\n"))
        start = end
    return out


def reference(data: bytes) -> dict:
    """Straightforward: json.loads per line, plain dicts."""
    req, users, hist = Counter(), Counter(), defaultdict(lambda: [0] * (len(BUCKETS) + 1))
    for line in data.splitlines():
        r = json.loads(line)
        req[(r["service"], r["route"], r["method"], str(r["status"]))] += 1
        users[(r["user_id"],)] += 1
        hist[(r["service"], r["route"])][bisect_left(BUCKETS, float(r["latency_ms"]))] += 1
    return {"http.server.requests": dict(req), "user.requests": dict(users), "http.server.duration": dict(hist)}


def summarize(metrics) -> dict:
    out = {}
    for _, _, m in metrics.iter_metrics():
        if m.name == "http.server.duration":
            out[m.name] = {(p.attributes["service"], p.attributes["route"]): p.bucket_counts for p in m.points}
        elif m.name == "user.requests":
            out[m.name] = {(p.attributes["user_id"],): p.value for p in m.points}
        else:
            out[m.name] = {tuple(p.attributes[k] for k in ("service", "route", "method", "status")): p.value
                           for p in m.points}
    return out


def run_twin(args) -> None:
    from collector.connectors.logs_to_metrics import Config, replay
    from access_log_gen import generate

    data = generate(args.lines)
    bufs = chunks(data, args.chunk_lines)
    config = Config.model_validate(yaml.safe_load(RULES))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    metrics, bad = replay(config, bufs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    import _fastpath

    ok = None
    if args.check:
        ok = summarize(metrics) == reference(data)
    print(json.dumps({
        "twin": "c" if _fastpath.COMPILED else "py", "lines": args.lines, "bytes": len(data),
        "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3), "lines_per_s": round(args.lines / wall),
        "series": metrics.item_count(), "bad": bad, "correct": ok,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_mb": round(rss_before / 1024, 1),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--chunk-lines", type=int, default=10_000)
    parser.add_argument("--twin", choices=["c", "py"])
    parser.add_argument("--no-check", dest="check", action="store_false", help="skip the reference computation")
    args = parser.parse_args()
    if args.twin:
        if args.twin == "py":
            assert os.environ.get("FATHOM_NO_EXTENSIONS")
        return run_twin(args)
    results = {}
    for twin in ("c", "py"):
        env = dict(os.environ, FATHOM_NO_EXTENSIONS="1" if twin == "py" else "")
        cmd = [sys.executable, __file__, "--twin", twin, "--lines", str(args.lines),
               "--chunk-lines", str(args.chunk_lines)] + ([] if args.check else ["--no-check"])
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        results[twin] = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(results[twin]))
    print(f"fast path / twin: {results['c']['lines_per_s'] / results['py']['lines_per_s']:.1f}x")


if __name__ == "__main__":
    main()
