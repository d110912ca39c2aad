"""Where the backends come from: a static list, or a DNS name resolved every ``interval``.

A resolver calls ``on_change(endpoints)`` with the sorted list whenever it
differs from the last one. A failed or empty DNS answer keeps the last
list: a passing resolver outage must not drop every backend.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Awaitable, Callable

from collector.periodic import Periodic
from exporters.loadbalancing.config import DEFAULT_PORT, DnsResolver, ResolverConfig

OnChange = Callable[[list[str]], Awaitable[None]]
#: ``getaddrinfo``-shaped: (host, port) -> [(family, type, proto, canonname, sockaddr), ...]
Lookup = Callable[..., Awaitable[list[tuple[Any, ...]]]]


def with_port(hostname: str) -> str:
    """``host`` -> ``host:4317``; ``host:port`` and ``[v6]:port`` stay as they are."""
    host, sep, port = hostname.rpartition(":")
    if sep and port.isdigit() and (not host.count(":") or host.endswith("]")):
        return hostname
    return f"{hostname}:{DEFAULT_PORT}"


class Resolver:
    def __init__(self, config: ResolverConfig, on_change: OnChange, log: logging.Logger,
                 lookup: Lookup | None = None) -> None:
        self._config = config
        self._on_change = on_change
        self._log = log
        self._lookup = lookup
        self._current: list[str] = []
        self._watch: Periodic | None = None

    async def start(self) -> None:
        """Resolve once (so the exporter starts with its backends), then keep watching DNS."""
        if self._config.static is not None:
            await self._update([with_port(h) for h in self._config.static.hostnames])
            return
        dns = self._config.dns
        assert dns is not None
        await self.resolve_dns(dns)
        self._watch = Periodic(dns.interval, lambda: self.resolve_dns(dns), name="loadbalancing dns", logger=self._log)
        self._watch.start()

    async def stop(self) -> None:
        if self._watch is not None:
            await self._watch.stop()
            self._watch = None

    async def resolve_dns(self, dns: DnsResolver) -> None:
        lookup = self._lookup or asyncio.get_running_loop().getaddrinfo
        try:
            answers = await asyncio.wait_for(lookup(dns.hostname, dns.port, type=socket.SOCK_STREAM), dns.timeout)
        except (OSError, TimeoutError) as exc:
            self._log.warning("cannot resolve %s (keeping %d backends): %s", dns.hostname, len(self._current), exc)
            return
        endpoints = sorted({_endpoint(sockaddr[0], dns.port) for *_, sockaddr in answers})
        if not endpoints:
            self._log.warning("%s resolved to no address (keeping %d backends)", dns.hostname, len(self._current))
            return
        await self._update(endpoints)

    async def _update(self, endpoints: list[str]) -> None:
        endpoints = sorted(set(endpoints))
        if endpoints != self._current:
            self._current = endpoints
            await self._on_change(endpoints)


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
