"""The ``status`` extension: a live status page of the running collector."""

from collector.extensions.status.extension import StatusConfig, StatusPage, factory

__all__ = ["StatusConfig", "StatusPage", "factory"]
