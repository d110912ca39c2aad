"""CPU cost of the OTLP metrics <-> model conversion, per 1,000-point request.

Uses bench/otlp_passthrough.py's metrics request (50 metrics x 20 points, 4
attributes each) and prints the best of five timings of ``decode_request``
and ``encode`` (of the decoded model, so without the received bytes), in CPU
milliseconds per request, and whether the re-encoded bytes equal the input.

    python bench/otlp_metrics_codec.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.pdata import Metrics  # noqa: E402
from collector.pdata.otlp_metrics import decode_request, encode  # noqa: E402
from otlp_passthrough import make_metrics_request  # noqa: E402


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
    model = decode_request(body)
    decode = best_ms(lambda: decode_request(body), args.repeat)
    reencode = best_ms(lambda: encode(Metrics(model)), args.repeat)
    print(f"decode {decode:.2f} ms, encode {reencode:.2f} ms, round trip {decode + reencode:.2f} ms "
          f"per 1,000 points; bytes unchanged: {encode(Metrics(model)) == body}")


if __name__ == "__main__":
    main()
