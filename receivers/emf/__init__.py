"""The ``emf`` receiver."""

from receivers.emf.receiver import EmfConfig, factory
from receivers.emf.routing import GROUP_ATTRIBUTE, STREAM_ATTRIBUTE

__all__ = ["EmfConfig", "GROUP_ATTRIBUTE", "STREAM_ATTRIBUTE", "factory"]
