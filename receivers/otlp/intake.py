"""Hand a received batch to the pipeline and say how the transport should answer.

Both transports share this, so a consumer's typed failure maps to the same
OTLP answer over HTTP and gRPC (opentelemetry-proto docs/specification.md,
"Failures" and "Throttling"):

======================  ===========  ===============================
consumer raised          OTLP/HTTP    OTLP/gRPC
======================  ===========  ===============================
PermanentError           400          INVALID_ARGUMENT
DecodeError (an item)    400          INVALID_ARGUMENT
ThrottledError           429          RESOURCE_EXHAUSTED + RetryInfo
other RetryableError     503          UNAVAILABLE + RetryInfo
anything else            503          UNAVAILABLE + RetryInfo
======================  ===========  ===============================

Retryable answers always carry a delay (``Retry-After`` / ``RetryInfo``):
without RetryInfo a client must treat RESOURCE_EXHAUSTED as permanent.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status

from collector.component import Consumer, Settings
from collector.errors import PermanentError, RetryableError, ThrottledError
from collector.pdata import Batch

#: Seconds a client is asked to wait when the consumer named no delay.
DEFAULT_RETRY_AFTER = 1.0


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    BAD_DATA = "bad_data"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    message: str = ""
    retry_after: float = 0.0

    def retry_after_header(self) -> str:
        """Whole seconds, rounded up, as RFC 9110 wants ``Retry-After``."""
        return str(max(1, math.ceil(self.retry_after)))

    def status(self, code: int = 0) -> Status:
        """A ``google.rpc.Status`` describing the refusal, with RetryInfo when retryable."""
        status = Status(code=code, message=self.message)
        if self.verdict in (Verdict.THROTTLED, Verdict.UNAVAILABLE):
            delay = Duration()
            delay.FromNanoseconds(int(self.retry_after * 1e9))
            status.details.add().Pack(RetryInfo(retry_delay=delay))
        return status


ACCEPTED = Outcome(Verdict.ACCEPTED)


async def deliver(consumer: Consumer, batch: Batch, log: logging.Logger) -> Outcome:
    """Pass ``batch`` on; never raises, except for cancellation."""
    try:
        await consumer.consume(batch)
    except PermanentError as exc:
        return Outcome(Verdict.BAD_DATA, str(exc) or "data refused as invalid")
    except DecodeError as exc:
        # The receiver checks a request only down to its items (wirecount);
        # a malformed item surfaces where a processor first parses the batch.
        return Outcome(Verdict.BAD_DATA, f"malformed OTLP item: {exc}")
    except RetryableError as exc:
        verdict = Verdict.THROTTLED if isinstance(exc, ThrottledError) else Verdict.UNAVAILABLE
        delay = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
        return Outcome(verdict, str(exc) or "data refused for now, retry later", delay)
    except Exception as exc:  # a bug downstream must not kill the listener
        log.exception("consumer failed on a batch of %d items", batch.item_count())
        return Outcome(Verdict.UNAVAILABLE, f"internal error: {type(exc).__name__}", DEFAULT_RETRY_AFTER)
    return ACCEPTED


def count_malformed(settings: Settings, reason: str, transport: str) -> None:
    """Count a request refused before it reached the pipeline.

    Accepted and refused batches are counted by the pipeline's receiver
    wrapper; only the receiver sees requests that never became a batch.
    """
    settings.telemetry.add(
        "fathom_receiver_malformed_requests", 1, {"reason": reason, "transport": transport},
        description="OTLP requests refused before reaching the pipeline, by reason",
    )
