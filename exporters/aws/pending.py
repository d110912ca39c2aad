"""What is left to send of each batch, so a retry resends only that.

One batch becomes several API requests, and turning it into requests
advances the delta state, so it can be done only once. The requests are
kept here until each is sent or refused; a retry of the batch (the exporter
helper calls ``push`` again with the same object) sends the remainder, so
what the service already took is not sent twice. Entries are bounded in
number and age, because the helper may give up on a batch without telling
the exporter.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Generic, TypeVar

from collector.errors import PermanentError

R = TypeVar("R")


@dataclass(slots=True)
class _Entry(Generic[R]):
    batch: object  # held so that its id() is not reused while the entry lives
    requests: list[R]
    created: float = field(default_factory=time.monotonic)
    sent: int = 0


class PendingRequests(Generic[R]):
    def __init__(self, max_entries: int, max_age: float) -> None:
        self._entries: OrderedDict[int, _Entry[R]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age

    def __len__(self) -> int:
        return len(self._entries)

    async def push(self, batch: object, build: Callable[[], Awaitable[list[R]]],
                   send: Callable[[R], Awaitable[None]],
                   refused: Callable[[R, PermanentError], None]) -> None:
        """Send what is left of ``batch`` in order, building its requests on the first push.

        A request refused for good is handed to ``refused`` (to count it) and
        the others still go; a retryable error stops here and keeps the rest
        for the next push. Raises the permanent error only when nothing of the
        batch was ever sent.
        """
        entry = self._entries.get(id(batch))
        if entry is None or entry.batch is not batch:
            entry = _Entry(batch, await build())
            self._add(entry)
        last_refusal: PermanentError | None = None
        while entry.requests:
            request = entry.requests[0]
            try:
                await send(request)
                entry.sent += 1
            except PermanentError as exc:
                refused(request, exc)
                last_refusal = exc
            entry.requests.pop(0)
        self._entries.pop(id(batch), None)
        if last_refusal is not None and not entry.sent:
            raise last_refusal

    def _add(self, entry: _Entry[R]) -> None:
        cutoff = time.monotonic() - self._max_age
        while self._entries and next(iter(self._entries.values())).created < cutoff:
            self._entries.popitem(last=False)
        self._entries[id(entry.batch)] = entry
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
