"""The collector's own logs: JSON lines, and sampling of repeated messages."""

from __future__ import annotations

import json
import logging

from collector.selflog import JsonFormatter, SamplingFilter


def record(msg: str, *args, name: str = "fathom.x", **extra) -> logging.LogRecord:
    rec = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


def test_json_lines_carry_message_and_extra_fields():
    line = JsonFormatter().format(record("dropped %d items", 5, exporter="otlp"))
    entry = json.loads(line)
    assert entry["msg"] == "dropped 5 items" and entry["level"] == "warning"
    assert entry["exporter"] == "otlp" and entry["logger"] == "fathom.x"


def test_a_repeated_message_is_sampled_and_the_next_one_says_how_many_were_dropped():
    sampler = SamplingFilter(initial=3, thereafter=10, tick=3600)
    kept = [sampler.filter(record("send failed: %s", i)) for i in range(25)]
    # the first three, then every tenth after them
    assert [i for i, k in enumerate(kept) if k] == [0, 1, 2, 12, 22]
    for _ in range(7):  # occurrences 26 to 32 are dropped too
        sampler.filter(record("send failed: %s", "x"))
    last = record("send failed: %s", "y")
    assert sampler.filter(last) and last.sampled_out == 9  # 24 to 32
    # other messages are counted on their own
    assert sampler.filter(record("another message"))
