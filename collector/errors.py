"""Typed failures: what went wrong, and whether trying again can help.

Components never answer with True/False. A consumer or an exporter's push
function raises one of these; the exporter helper retries only what is
retryable, waits as long as a throttle asks, and counts the rest as failed.
Receivers translate them to their protocol's status (HTTP 503/429 or gRPC
UNAVAILABLE/RESOURCE_EXHAUSTED for retryable, 400/INVALID_ARGUMENT for
permanent).
"""

from __future__ import annotations


class ConsumeError(Exception):
    """A batch was not accepted."""


class PermanentError(ConsumeError):
    """Sending the same data again will fail the same way: drop and count it."""


class RetryableError(ConsumeError):
    """A later attempt may succeed; ``retry_after`` (seconds) overrides backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ThrottledError(RetryableError):
    """The peer asked us to slow down (HTTP 429, gRPC RESOURCE_EXHAUSTED with RetryInfo)."""


class RefusedError(RetryableError):
    """The collector itself refuses data for now (memory pressure, shutting down)."""


class CollectorError(Exception):
    """Base of errors the CLI turns into a message and an exit code."""
