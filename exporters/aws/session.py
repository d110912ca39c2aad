"""botocore clients, created on first use and called off the event loop.

Credentials and region come from botocore's standard chain (environment,
shared config and credentials files, web identity for Kubernetes service
accounts, container and instance metadata), so nothing is resolved at start:
a collector with no credentials starts, and its sends fail with typed errors.
botocore's own retries are off: the exporter helper retries whole requests
with backoff, and counts them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, Callable

from collector import __version__
from exporters.aws.errors import classify

if TYPE_CHECKING:
    from botocore.client import BaseClient


class AwsClients:
    """One botocore client per service, shared by every send of an exporter.

    botocore clients are thread-safe; they are built lazily, under a lock,
    in the worker thread of the first call (building one reads files).
    """

    def __init__(self, *, region: str, endpoint: str, profile: str, timeout: float, max_connections: int,
                 customize: Callable[[str, BaseClient], None] | None = None) -> None:
        self._region = region or None
        self._endpoint = endpoint or None
        self._profile = profile or None
        self._config_args = {
            "user_agent_extra": f"fathom/{__version__}",
            "retries": {"total_max_attempts": 1},
            "connect_timeout": timeout or 60,
            "read_timeout": timeout or 60,
            "max_pool_connections": max_connections,
        }
        self._customize = customize
        self._clients: dict[str, BaseClient] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> BaseClient:
        """The client for ``service``, built on first use (blocking: call from a thread)."""
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                # Imported here, in the worker thread, not at start-up: botocore's session and config
                # modules take ~0.1 s to import and a collector with no sends yet does not need them.
                import botocore.session
                from botocore.config import Config

                session = botocore.session.Session(profile=self._profile)
                client = session.create_client(service, region_name=self._region, endpoint_url=self._endpoint,
                                               config=Config(**self._config_args))
                if self._customize is not None:
                    self._customize(service, client)
                self._clients[service] = client
            return client

    async def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """Call ``operation`` (botocore's snake_case name) in a worker thread.

        Raises a :mod:`collector.errors` type: RetryableError (ThrottledError
        for throttling) or PermanentError. ``ClientError`` stays reachable as
        ``__cause__`` for callers that handle a code themselves.
        """

        def run() -> dict[str, Any]:
            return getattr(self.client(service), operation)(**params)

        try:
            return await asyncio.to_thread(run)
        except Exception as exc:
            raise classify(exc, operation) from exc

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
