"""The ``file_storage`` extension: a directory where components keep state across restarts.

Exporters name it in ``sending_queue.storage`` to persist their queues;
receivers such as ``filelog`` keep read positions in it. Each component
gets a subdirectory of its own, named after its kind and id, so two
components never share files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field

from collector.component import ComponentConfig, ComponentID, Factory, Host, Kind, Settings, Stability
from collector.configtypes import Duration
from collector.queues import Fsync


class FileStorageConfig(ComponentConfig):
    directory: str = Field("/var/lib/fathom/storage", description="Where state is kept; created if missing.")
    fsync: Fsync = Field(
        Fsync.INTERVAL,
        description="always: every write reaches the disk before it is acknowledged (survives power loss); "
                    "interval: every fsync_interval (survives a killed process); never: left to the kernel.",
    )
    fsync_interval: Duration = Field(1.0, gt=0, description="How often writes are flushed with fsync: interval.")
    segment_mib: int = Field(16, ge=1, description="Size of one queue segment file.")


class FileStorage:
    def __init__(self, settings: Settings, config: FileStorageConfig) -> None:
        self.config = config
        self.root = Path(config.directory)

    def directory_for(self, kind: str, id: ComponentID) -> Path:
        """A component's own directory, created on first use."""
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind}_{id}")
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def queue_options(self, kind: str, id: ComponentID) -> dict[str, Any]:
        """Keyword arguments for :class:`collector.queues.DiskQueue`."""
        return {"directory": self.directory_for(kind, id), "fsync": self.config.fsync,
                "fsync_interval": self.config.fsync_interval, "segment_bytes": self.config.segment_mib << 20}

    async def start(self, host: Host) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(exc.errno, f"file_storage cannot use {self.root}: {exc.strerror}") from exc

    async def shutdown(self) -> None:
        pass


factory = Factory(
    type="file_storage",
    kind=Kind.EXTENSION,
    config=FileStorageConfig,
    create=FileStorage,
    description="Keeps component state (persistent queues, read positions) in a directory.",
    stability=Stability.BETA,
)
