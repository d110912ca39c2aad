"""Deterministic JSON access-log lines (~250 bytes) for the logs_to_metrics benchmark."""

from __future__ import annotations

import random
from typing import Iterator

SERVICES = [f"svc-{i}" for i in range(8)]
ROUTES = [f"/api/v1/{r}" for r in ("users", "orders", "items", "cart", "search", "login", "pay", "health",
                                   "stock", "ship", "rates", "notify")]
METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
STATUSES = [200] * 20 + [201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503]
REGIONS = ["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"]


def lines(count: int, seed: int = 1, users: int = 100_000) -> Iterator[str]:
    """The log lines, without newlines, one at a time (a large log need not be held in memory)."""
    rnd = random.Random(seed)
    for i in range(count):
        status = rnd.choice(STATUSES)
        yield (
            '{"ts":"2024-05-01T12:%02d:%02d.%06dZ","level":"%s","service":"%s","route":"%s","method":"%s",'
            '"status":%d,"latency_ms":%.3f,"user_id":"u%06d","region":"%s","trace_id":"%032x",'
            '"msg":"request completed in handler"}'
            % (i // 60000 % 60, i // 1000 % 60, i % 1000000, "error" if status >= 500 else "info",
               rnd.choice(SERVICES), rnd.choice(ROUTES), rnd.choice(METHODS), status,
               rnd.expovariate(1 / 40), rnd.randrange(users), rnd.choice(REGIONS), rnd.getrandbits(128))
        )


def generate(count: int, seed: int = 1, users: int = 100_000) -> bytes:
    """The whole log as newline-terminated bytes."""
    return ("\n".join(lines(count, seed, users)) + "\n").encode()


def write(path: str, count: int, seed: int = 1, users: int = 100_000, batch: int = 10_000) -> None:
    """The same log as ``generate``, streamed to a file."""
    with open(path, "wb") as f:
        out = []
        for line in lines(count, seed, users):
            out.append(line)
            if len(out) == batch:
                f.write(("\n".join(out) + "\n").encode())
                out.clear()
        if out:
            f.write(("\n".join(out) + "\n").encode())
