"""CPU cost of the OTLP metrics <-> model conversion, per 1,000-point request.

Uses bench/otlp_passthrough.py's metrics request (50 metrics x 20 points, 4
attributes each) and prints, for each twin (``py``: collector/pdata/otlp_metrics.py,
``c``: _fastpath/_otlp_metrics.pyx), the best of five timings of decoding and
encoding (the decoded model, so without the received bytes), in CPU
milliseconds per request, whether the re-encoded bytes equal the input, and
the Python twin's time over the compiled one's.

    python bench/otlp_metrics_codec.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.pdata import otlp_metrics  # noqa: E402
from otlp_passthrough import make_metrics_request  # noqa: E402

try:
    from _fastpath import _otlp_metrics as compiled
except ImportError:
    compiled = None


def best_ms(f: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(repeat):
            f()
        best = min(best, (time.process_time() - start) / repeat)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    body = make_metrics_request()
    twins = {"py": (otlp_metrics.decode_request_py, otlp_metrics.encode_resource_metrics_py)}
    if compiled is not None:
        twins["c"] = (compiled.decode_request, compiled.encode_resource_metrics)
    round_trips = {}
    for name, (decode_request, encode) in twins.items():
        model = decode_request(body)
        decode = best_ms(lambda: decode_request(body), args.repeat)
        reencode = best_ms(lambda: encode(model), args.repeat)
        round_trips[name] = decode + reencode
        print(f"{name:>2}: decode {decode:.2f} ms, encode {reencode:.2f} ms, round trip {decode + reencode:.2f} ms "
              f"per 1,000 points; bytes unchanged: {encode(model) == body}")
    if compiled is None:
        print(" c: not built (python setup.py build_ext --inplace)")
    else:
        print(f"py/c: {round_trips['py'] / round_trips['c']:.1f}x")


if __name__ == "__main__":
    main()
