"""The ``memory_limiter`` processor: refuse data before the process runs out of memory.

Every ``check_interval`` it reads the resident set size. Above the soft
limit (``limit_mib - spike_limit_mib``) it refuses new batches with a
retryable error, which receivers turn into 503/UNAVAILABLE so senders back
off and retry; above the hard limit it also runs a garbage collection. It
measures RSS rather than a heap figure because RSS is what the kernel and
Kubernetes limits act on. Place it first in a pipeline so refused data
costs nothing further.
"""

from __future__ import annotations

import gc
from typing import Any, Callable

from pydantic import Field, model_validator

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.configtypes import Duration
from collector.errors import RefusedError
from collector.pdata import Batch
from collector.periodic import Periodic
from collector.telemetry import rss_bytes

_MIB = 1 << 20


class MemoryLimiterConfig(ComponentConfig):
    check_interval: Duration = Field(1.0, gt=0, description="How often memory use is measured.")
    limit_mib: int = Field(0, ge=0, description="Hard limit of the resident set size, in MiB.")
    spike_limit_mib: int | None = Field(
        None, ge=0, description="Headroom below the hard limit for a spike between checks; default 20% of the limit."
    )
    limit_percentage: int = Field(0, ge=0, le=100, description="Hard limit as a share of the cgroup's memory limit.")
    spike_limit_percentage: int = Field(0, ge=0, le=100, description="Spike headroom as a share of the cgroup's limit.")

    @model_validator(mode="after")
    def _one_limit(self) -> "MemoryLimiterConfig":
        if not self.limit_mib and not self.limit_percentage:
            raise ValueError("set limit_mib (or limit_percentage): the limiter needs a limit to enforce")
        if self.limit_mib and self.spike_limit_mib is not None and self.spike_limit_mib >= self.limit_mib:
            raise ValueError(f"spike_limit_mib ({self.spike_limit_mib}) must be below limit_mib ({self.limit_mib})")
        return self

    def limits(self) -> tuple[int, int]:
        """(soft, hard) limits in bytes."""
        if self.limit_mib:
            hard = self.limit_mib * _MIB
            spike = (self.spike_limit_mib if self.spike_limit_mib is not None else self.limit_mib // 5) * _MIB
        else:
            total = cgroup_memory_limit()
            hard = total * self.limit_percentage // 100
            spike = total * self.spike_limit_percentage // 100
        return hard - spike, hard


def cgroup_memory_limit() -> int:
    """The cgroup v2 (or v1) memory limit, falling back to physical memory."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path).read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            return int(text)
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class MemoryLimiter:
    mutates_data = False

    def __init__(self, settings: Settings, config: MemoryLimiterConfig, next: Consumer,
                 measure: Callable[[], int] = rss_bytes) -> None:
        self._log = settings.logger
        self._telemetry = settings.telemetry
        self._config = config
        self._next = next
        self._measure = measure
        self.soft_limit, self.hard_limit = config.limits()
        self.refusing = False
        self._checks = Periodic(config.check_interval, self.check, name=f"{settings.id} memory check",
                                logger=settings.logger)

    async def start(self, host: Host) -> None:
        if not self._checks.running:
            self.check()
            self._checks.start()

    def check(self) -> None:
        used = self._measure()
        if used >= self.hard_limit:
            gc.collect()
            used = self._measure()
        refusing = used >= self.soft_limit
        if refusing != self.refusing:
            self.refusing = refusing
            if refusing:
                self._log.warning("memory use %d MiB is above the soft limit %d MiB: refusing data",
                                  used // _MIB, self.soft_limit // _MIB)
            else:
                self._log.info("memory use %d MiB is below the soft limit again: accepting data", used // _MIB)

    async def consume(self, batch: Batch) -> None:
        if self.refusing:
            self._telemetry.add_items("fathom_processor_refused", batch.signal, batch.item_count())
            raise RefusedError("memory use is above the soft limit; retry later", retry_after=self._config.check_interval)
        await self._next.consume(batch)

    async def shutdown(self) -> None:
        await self._checks.stop()


def create(settings: Settings, config: MemoryLimiterConfig, next: Consumer) -> Any:
    return MemoryLimiter(settings, config, next)


factory = Factory(
    type="memory_limiter",
    kind=Kind.PROCESSOR,
    config=MemoryLimiterConfig,
    create=create,
    signals={Signal.LOGS: Stability.BETA, Signal.METRICS: Stability.BETA, Signal.TRACES: Stability.BETA},
    description="Refuses data with a retryable error while memory use is above a limit.",
)
