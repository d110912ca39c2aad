"""The ``otlp`` receiver."""

from receivers.otlp.config import OtlpReceiverConfig
from receivers.otlp.receiver import OtlpReceiver, factory

__all__ = ["OtlpReceiver", "OtlpReceiverConfig", "factory"]
