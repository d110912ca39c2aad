"""logs_to_metrics: the scan alone and the flush alone, without the file reading the replay figures include.

    python bench/logs_to_metrics_scan.py [--lines 1000000] [--reps 3] [--twin]

bench/logs_to_metrics.py times a whole replay: reading the file, scanning, draining and flushing.
This holds the same access log in memory, in the same chunks, and times
the scanner's ``scan`` calls and then the flush of the 105,000 series,
each in CPU seconds, best of ``--reps``. ``--twin`` measures the
pure-Python twin instead of the compiled scanner.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), HERE]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--chunk-bytes", type=int, default=4 << 20)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--twin", action="store_true", help="the pure-Python twin instead of the compiled scanner")
    parser.add_argument("--syntax", choices=["json", "logfmt"], default="json",
                        help="logfmt: the same records as logfmt lines (written once beside the JSON log)")
    args = parser.parse_args()
    if args.twin:
        os.environ["FATHOM_NO_EXTENSIONS"] = "1"  # read when _fastpath is first imported, below

    import yaml
    import _fastpath
    from collector.connectors.logs_to_metrics import Config
    from collector.connectors.logs_to_metrics.connector import Pipeline
    from collector.replaytool import line_blocks
    from logs_to_metrics import RULES

    log = os.path.join(HERE, "out", f"access-{args.lines}.log")
    if not os.path.exists(log):
        raise SystemExit(f"{log} is missing: run bench/logs_to_metrics.py --lines {args.lines} once first")
    if args.syntax == "logfmt":
        log = as_logfmt(log)
    with open(log, "rb") as handle:
        chunks = list(line_blocks(handle, args.chunk_bytes, rewind=True))
    config = Config.model_validate({**yaml.safe_load(RULES), "parser": args.syntax})
    scans, flushes = [], []
    for _ in range(args.reps):
        pipeline = Pipeline(config)
        consts = pipeline.plan.consts({}, {})
        c0 = time.process_time()
        for data in chunks:
            pipeline.scanner.scan(data, None, consts, 1)
        c1 = time.process_time()
        series = pipeline.flush(2).item_count()
        c2 = time.process_time()
        scans.append(c1 - c0)
        flushes.append(c2 - c1)
    scan, flush = min(scans), min(flushes)
    print(json.dumps({
        "run": "c" if _fastpath.COMPILED else "py", "syntax": args.syntax, "series": series,
        "scan_cpu_seconds": round(scan, 3), "scan_lines_per_cpu_s": round(args.lines / scan),
        "flush_cpu_seconds": round(flush, 3),
        "scan_and_flush_lines_per_cpu_s": round(args.lines / (scan + flush)),
    }))


def as_logfmt(log: str) -> str:
    """The JSON access log as logfmt lines (strings with spaces quoted), written once."""
    path = log[: -len(".log")] + ".logfmt"
    if not os.path.exists(path):
        with open(log, "rb") as src, open(path + ".tmp", "w") as out:
            for line in src:
                out.write(" ".join(f"{k}={json.dumps(v) if isinstance(v, str) and ' ' in v else v}"
                                   for k, v in json.loads(line).items()) + "\n")
        os.replace(path + ".tmp", path)
    return path


if __name__ == "__main__":
    main()
