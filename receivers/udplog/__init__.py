"""The ``udplog`` receiver."""

from receivers.udplog.receiver import UdpLogConfig, factory

__all__ = ["UdpLogConfig", "factory"]
