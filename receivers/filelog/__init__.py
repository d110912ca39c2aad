"""The ``filelog`` receiver."""

from receivers.filelog.config import FileLogConfig, MultilineConfig
from receivers.filelog.receiver import FileLogReceiver, factory

__all__ = ["FileLogConfig", "FileLogReceiver", "MultilineConfig", "factory"]
