"""A short, deterministic fuzz run without atheris, for CI: seeds plus random mutations of them.

Not coverage-guided (that is the long run's job, ``fuzz.run``), but it runs
in-process in a second or two per target and replays everything the long
runs taught us: the seed corpus and any learnt corpus in ``fuzz/.work``.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path
from typing import Callable, Iterator

HERE = Path(__file__).resolve().parent
_INTERESTING = [b"\x00", b"\xff", b'"', b"\\", b"{", b"}", b"[", b"]", b"\n", b"=", b" ", b":", b",", b"-",
                b"1e999", b"\\u", b"\\ud800", b"${env:", b"}" * 64, b"[" * 600, b"\xed\xa0\x80", b"9" * 400]


class Hang(Exception):
    """One input ran longer than the allowed time."""


def seeds(name: str) -> list[bytes]:
    """The committed seed corpus and the long runs' learnt corpus of target ``name``."""
    files = [p for d in (HERE / "corpus" / name, HERE / ".work" / name) if d.is_dir() for p in sorted(d.iterdir())]
    return [p.read_bytes() for p in files] or [b""]


def mutations(corpus: list[bytes], count: int, rng: random.Random, max_len: int = 64 * 1024) -> Iterator[bytes]:
    """Each seed as is, then ``count`` inputs with one to four edits of a random seed."""
    yield from corpus
    for _ in range(count):
        data = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(0, len(data))
            op = rng.randrange(6)
            if op == 0 and data:
                del data[at:at + rng.randint(1, 8)]
            elif op == 1:
                data[at:at] = rng.choice(_INTERESTING)
            elif op == 2 and data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
            elif op == 3:
                other = rng.choice(corpus)
                start = rng.randint(0, len(other))
                data[at:at] = other[start:start + rng.randint(1, 64)]
            elif op == 4:
                del data[at:]
            else:
                data[at:at] = bytes(data[at:at + rng.randint(1, 32)]) * rng.randint(1, 8)
        yield bytes(data[:max_len])


def quick_run(name: str, target: Callable[[bytes], None], iterations: int, seed: int = 0,
              timeout: float = 2.0) -> int:
    """Run ``target`` over seeds and mutations; returns inputs tried.

    Raises what the target raises (a finding) with the input attached as a
    note, or :class:`Hang` when one input takes longer than ``timeout``.
    """
    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"{name}: one input took more than {timeout} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    tried = 0
    try:
        for data in mutations(seeds(name), iterations, random.Random(seed)):
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                target(data)
            except Hang:  # raised deep in the target's stack: report it from here, with the input
                raise Hang(f"{name}: an input took more than {timeout} s: {data[:300]!r} ({len(data)} bytes)") from None
            except BaseException as exc:
                exc.add_note(f"fuzz target {name}, input {data[:300]!r} ({len(data)} bytes)")
                raise
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            tried += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    return tried
