"""logs_to_metrics throughput: compiled fast path, pure-Python twin and mtail, checked against a reference.

    python bench/logs_to_metrics.py [--lines 1000000] [--chunk-bytes 4194304] [--only c py mtail] [--no-check]

The access log (bench/access_log_gen.py) is written once to bench/out/ and
then read as a stream, as ``fathom replay`` reads a file: a run holds one
chunk of input at a time, so its peak RSS is the collector's own
(interpreter, rules, 100,000 series), not the input's. Three rules: a
counter by service, route, method, status; a latency histogram by service
and route; a counter by user_id (100,000 distinct values).

Each run is its own process, measured from outside with wait4 (wall time,
CPU seconds, peak RSS); the scanners also time their own replay. mtail
(Debian package ``mtail``) runs bench/logs_to_metrics.mtail, the same rules
as regexes, in one-shot mode. Every result is compared with a plain
``json.loads`` computation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
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
MTAIL_PROGRAM = os.path.join(HERE, "logs_to_metrics.mtail")
MTAIL_NAMES = {"http_server_requests": "http.server.requests", "http_server_duration": "http.server.duration",
               "user_requests": "user.requests"}


def digest(summary: dict) -> str:
    """One hash of every series and value, comparable across processes."""
    items = sorted((name, sorted((list(k), v) for k, v in series.items())) for name, series in summary.items())
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


def reference(path: str) -> dict:
    """Straightforward: json.loads per line, plain dicts."""
    req, users, hist = Counter(), Counter(), defaultdict(lambda: [0] * (len(BUCKETS) + 1))
    with open(path, "rb") as f:
        for line in f:
            r = json.loads(line)
            req[(r["service"], r["route"], r["method"], str(r["status"]))] += 1
            users[(r["user_id"],)] += 1
            hist[(r["service"], r["route"])][bisect_left(BUCKETS, float(r["latency_ms"]))] += 1
    return {"http.server.requests": dict(req), "user.requests": dict(users), "http.server.duration": dict(hist)}


def summarize(metrics) -> dict:
    out = {}
    for _, _, m in metrics.iter_metrics():
        if m.name == "http.server.duration":
            out[m.name] = {(p.attributes["service"], p.attributes["route"]): list(p.bucket_counts) for p in m.points}
        elif m.name == "user.requests":
            out[m.name] = {(p.attributes["user_id"],): p.value for p in m.points}
        else:
            out[m.name] = {tuple(p.attributes[k] for k in ("service", "route", "method", "status")): p.value
                           for p in m.points}
    return out


def summarize_mtail(dump: dict) -> dict:
    out = {}
    for name, metrics in dump.items():
        series = out[MTAIL_NAMES[name]] = {}
        for metric in metrics:
            for lv in metric["LabelValues"]:
                value = lv["Value"]
                if "Buckets" in value:  # per-bucket counts, keyed by upper bound
                    bounds = [str(b) for b in BUCKETS] + ["+Inf"]
                    series[tuple(lv["Labels"])] = [value["Buckets"].get(b, 0) for b in bounds]
                else:
                    series[tuple(lv["Labels"])] = value["Value"]
    return out


def run_scanner(args) -> None:
    """In the child: replay the file through the rules, timed from the first byte read."""
    from collector.connectors.logs_to_metrics import Config, replay
    from collector.replaytool import line_blocks
    import _fastpath

    config = Config.model_validate(yaml.safe_load(RULES))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    with open(args.log, "rb") as handle:
        metrics, bad = replay(config, line_blocks(handle, args.chunk_bytes, rewind=True))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({
        "run": "c" if _fastpath.COMPILED else "py", "replay_seconds": round(wall, 3),
        "replay_cpu_seconds": round(cpu, 3), "series": metrics.item_count(), "bad": bad,
        "rss_after_imports_mb": round(rss_before / 1024, 1), "digest": digest(summarize(metrics)),
    }))


def measure(cmd: list[str], env: dict | None = None) -> tuple[str, dict]:
    """Run a process to the end: its stdout, and wall time, CPU seconds and peak RSS from wait4."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{cmd[0]} failed with exit code {proc.returncode}")
    return out.decode(), {"seconds": round(wall, 3), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
                          "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def run_all(args, log: str) -> None:
    ref = reference(log) if args.check else None
    expected = digest(ref) if ref is not None else None
    results = {}
    for run in args.only:
        if run == "mtail":
            if shutil.which("mtail") is None:
                print(json.dumps({"run": "mtail", "skipped": "mtail not installed (apt-get install mtail)"}))
                continue
            cmd = ["mtail", "--one_shot", "--one_shot_format", "json", "--progs", MTAIL_PROGRAM, "--logs", log,
                   "--logtostderr", "--address", "127.0.0.1", "--port", "0"]
            out, stats = measure(cmd)
            got = summarize_mtail(json.loads(out))
            result = {"run": "mtail", **stats, "digest": digest(got)}
            if ref is not None:  # mtail's histograms leave out observations of exactly 0
                result["series_differing"] = {name: sum(got.get(name, {}).get(k) != v for k, v in series.items())
                                              for name, series in ref.items()}
        else:
            env = dict(os.environ, FATHOM_NO_EXTENSIONS="1" if run == "py" else "")
            cmd = [sys.executable, __file__, "--child", "--log", log, "--chunk-bytes", str(args.chunk_bytes)]
            out, stats = measure(cmd, env)
            result = {**json.loads(out.strip().splitlines()[-1]), **stats}
            if result["run"] != run:
                raise SystemExit(f"asked for the {run} scanner, got {result['run']}")
        result["lines_per_s"] = round(args.lines / result.get("replay_seconds", result["seconds"]))
        cpu = result.get("replay_cpu_seconds", result["cpu_seconds"])
        result["lines_per_cpu_s"] = round(args.lines / cpu)  # steadier than wall time on a shared machine
        result["cpu_s_per_million_lines"] = round(cpu / args.lines * 1e6, 2)
        result["correct"] = None if expected is None else result.pop("digest") == expected
        result.pop("digest", None)
        results[run] = result
        print(json.dumps(result), flush=True)
    if "c" in results:
        for other in ("py", "mtail"):
            if other in results:
                print(f"fast path / {other}: {results['c']['lines_per_s'] / results[other]['lines_per_s']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--chunk-bytes", type=int, default=4 << 20)
    parser.add_argument("--only", nargs="+", choices=["c", "py", "mtail"], default=["c", "py", "mtail"])
    parser.add_argument("--no-check", dest="check", action="store_false", help="skip the reference computation")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_scanner(args)
    from access_log_gen import write

    log = os.path.join(HERE, "out", f"access-{args.lines}.log")
    if not os.path.exists(log):
        os.makedirs(os.path.dirname(log), exist_ok=True)
        write(log + ".tmp", args.lines)
        os.replace(log + ".tmp", log)
    print(f"{args.lines} lines, {os.path.getsize(log)} bytes: {log}", flush=True)
    run_all(args, log)


if __name__ == "__main__":
    main()
