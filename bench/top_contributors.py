"""top_contributors throughput, memory and accuracy on 1,000,000 access-log lines with Zipf-distributed users.

    python bench/top_contributors.py [--lines 1000000] [--users 100000] [--zipf 1.1] [--lg 10]

Two rules, as Contributor Insights would run them: requests by user_id, and
bytes by (route, user_id). Records go through the connector's real intake
(raw line chunks, JSON parsed per line); the exact answer is counted
separately, untimed, and each emitted top-K value is compared with it.
Memory: peak RSS growth while ranking, and the sketches' serialized size.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from collector.component import Signal  # noqa: E402
from collector.connectors.top_contributors import Ranking, Rule, feed  # noqa: E402
from collector.pdata import LineChunk, Logs  # noqa: E402

ROUTES = [f"/api/v1/{r}" for r in ("users", "orders", "items", "cart", "search", "login", "pay", "health")]


def generate(lines: int, users: int, s: float, seed: int = 1) -> list[tuple[str, str, int]]:
    rnd = random.Random(seed)
    weights = [1 / (i ** s) for i in range(1, users + 1)]
    ids = rnd.choices(range(users), weights=weights, k=lines)
    return [(rnd.choice(ROUTES), f"u{i:06d}", rnd.randrange(200, 20000)) for i in ids]


def to_chunks(rows: list[tuple[str, str, int]], per_chunk: int = 10_000) -> list[Logs]:
    out = []
    for start in range(0, len(rows), per_chunk):
        part = rows[start:start + per_chunk]
        data = "\n".join(
            '{"ts":"2024-05-01T12:00:00Z","level":"info","route":"%s","method":"GET","status":200,'
            '"user_id":"%s","bytes":%d,"msg":"request completed"}' % r for r in part).encode()
        out.append(Logs(chunks=[LineChunk(data, len(part))]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--zipf", type=float, default=1.1)
    ap.add_argument("--lg", type=int, default=10, help="lg_max_map_size")
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()

    rows = generate(args.lines, args.users, args.zipf)
    batches = to_chunks(rows)
    exact_users = Counter(u for _, u, _ in rows)
    exact_bytes: Counter[str] = Counter()
    for route, user, size in rows:
        exact_bytes[f"{route}\x1f{user}"] += size
    rules = [
        Rule(name="top.users", keys=["user_id"], top_k=args.top),
        Rule(name="top.route_users.bytes", keys=["route", "user_id"], value="bytes", aggregate="sum", top_k=args.top),
    ]
    rankings = [Ranking(rule, Signal.LOGS, args.lg, 12) for rule in rules]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    for batch in batches:
        feed(batch, rankings)
    elapsed = time.perf_counter() - t0
    rss_growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    sketch_bytes = sum(r.items.get_serialized_size_bytes() + r.distinct.get_compact_serialization_bytes()
                       for r in rankings)

    print(f"lines: {args.lines:,}  users: {args.users:,} (zipf s={args.zipf})  lg_max_map_size: {args.lg}")
    print(f"throughput: {args.lines / elapsed:,.0f} records/s ({elapsed:.2f} s, two rules)")
    print(f"memory: peak RSS growth while ranking {rss_growth_kib / 1024:.1f} MiB; sketches {sketch_bytes / 1024:.1f} KiB")
    for ranking, exact in zip(rankings, (exact_users, exact_bytes)):
        name = ranking.rule.name
        metrics = {m.name: m for m in ranking.flush(0, 1)}
        bound = metrics[name + ".error_bound"].points[0].value
        top = {"\x1f".join(str(p.attributes[k]) for k in ranking.rule.keys): p.value
               for p in metrics[name].points if "top_contributors.other" not in p.attributes}
        errors = [est - exact[key] for key, est in top.items()]
        true_top = {k for k, _ in exact.most_common(args.top)}
        total = sum(exact.values())
        print(f"{name}: distinct exact {len(exact):,} / estimated {metrics[name + '.unique_contributors'].points[0].value:,}; "
              f"top-{args.top} recall {len(true_top & set(top)) / args.top:.0%}; "
              f"observed error max {max(errors):,.0f} mean {sum(errors) / len(errors):,.1f}; "
              f"stated bound {bound:,.0f} ({bound / total:.3%} of total); within bound: {all(0 <= e <= bound for e in errors)}")


if __name__ == "__main__":
    main()
