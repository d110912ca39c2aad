"""Work done on a timer for as long as a component runs.

Flushes, expiry sweeps, memory checks, fsyncs and DNS refreshes all need the
same things: a task that wakes every ``interval``, survives a failing round
(logged, then the next round comes), and stops cleanly and idempotently on
shutdown. This is that task, written once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Awaitable, Callable


class Periodic:
    """Calls ``action`` every ``interval`` seconds between :meth:`start` and :meth:`stop`.

    ``action`` may be a plain or an async function. An exception is logged to
    ``logger`` and the timer goes on: one bad round must not stop the rest.
    """

    def __init__(self, interval: float, action: Callable[[], Awaitable[None] | None], *,
                 name: str, logger: logging.Logger) -> None:
        self.interval = interval
        self._action = action
        self._name = name
        self._log = logger
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                result = self._action()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self._log.exception("%s failed; trying again in %gs", self._name, self.interval)

    async def stop(self) -> None:
        """Cancel the timer; safe before start and twice. An action under way is cancelled."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
