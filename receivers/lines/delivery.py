"""Handing a batch downstream and retrying refusals, without losing or repeating it.

A refused batch (``RetryableError``: memory_limiter, a full queue) is offered
again after a growing pause, the same object each time, so nothing is lost
and nothing is sent twice; the source stops reading meanwhile, which is the
backpressure. Only a stop request ends the retries: the caller then keeps
its read position where it was (files) or counts the batch as dropped.
"""

from __future__ import annotations

import asyncio
import enum

from collector.component import Consumer, Settings, Signal
from collector.errors import PermanentError, RetryableError
from collector.pdata import Logs

_FIRST_BACKOFF = 0.01
_MAX_BACKOFF = 1.0


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    #: refused for good (bad data): counted, the source moves past it
    DROPPED = "dropped"
    #: still refused when the source was asked to stop: the source must not move past it
    STOPPED = "stopped"


async def deliver(consumer: Consumer, logs: Logs, settings: Settings, stopping: asyncio.Event) -> Outcome:
    """Offers ``logs`` until accepted, refused for good, or ``stopping`` is set.

    The caller keeps ownership of ``logs`` and must not change it afterwards.
    """
    delay = _FIRST_BACKOFF
    n = logs.item_count()
    while True:
        try:
            await consumer.consume(logs)
        except RetryableError as exc:
            if stopping.is_set():
                return Outcome.STOPPED
            wait = exc.retry_after if exc.retry_after is not None else delay
            delay = min(delay * 2, _MAX_BACKOFF)
            try:
                await asyncio.wait_for(stopping.wait(), wait)
            except asyncio.TimeoutError:
                pass
            continue
        except PermanentError as exc:  # counted as refused by the graph's ObservedReceiver, like acceptance
            settings.logger.warning("%s: %d log records refused: %s", settings.id, n, exc)
            return Outcome.DROPPED
        except Exception:  # a faulty consumer must not stop the source; the batch cannot succeed
            settings.logger.exception("%s: consumer failed on %d log records", settings.id, n)
            settings.telemetry.add_items("otelcol_receiver_refused", Signal.LOGS, n)
            return Outcome.DROPPED
        return Outcome.ACCEPTED


def bad_input(settings: Settings, reason: str, n: int) -> None:
    """Counts input that was cut, replaced or refused, by reason (``too_long``, ``invalid_encoding``...)."""
    settings.telemetry.add("fathom_receiver_bad_input", n, {"reason": reason})
