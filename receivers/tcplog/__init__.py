"""The ``tcplog`` receiver."""

from receivers.tcplog.receiver import TcpLogConfig, factory

__all__ = ["TcpLogConfig", "factory"]
