"""The contract every component implements, and the factory that declares it.

A component's whole surface is its :class:`Factory`: a type name, a typed
config class, the signals it supports and one ``create`` function. The core
never imports a component directly; it finds factories through entry points
(``collector.registry``) so built-ins and third-party packages plug in alike.

Create signatures, by kind (``settings`` is :class:`Settings`):

* receiver:  ``create(settings, config, consumers: Mapping[Signal, Consumer]) -> Component``
  (one instance per receiver id, feeding every pipeline that lists it);
* processor: ``create(settings, config, next: Consumer) -> Processor``
  (one instance per pipeline; ``settings.signal`` says which signal);
* exporter:  ``create(settings, config) -> Exporter``
  (one instance per exporter id, receiving every signal it is listed for);
* connector: ``create(settings, config, next: Mapping[Signal, Consumer]) -> Exporter``
  (consumes its input signals, emits into the pipelines that list it as receiver);
* extension: ``create(settings, config) -> Component``.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from collector.pdata import Batch
    from collector.telemetry import ComponentTelemetry


class Signal(str, enum.Enum):
    LOGS = "logs"
    METRICS = "metrics"
    TRACES = "traces"

    def __str__(self) -> str:
        return self.value


class Kind(str, enum.Enum):
    RECEIVER = "receiver"
    PROCESSOR = "processor"
    EXPORTER = "exporter"
    CONNECTOR = "connector"
    EXTENSION = "extension"

    @property
    def section(self) -> str:
        """The top-level config key that holds components of this kind."""
        return self.value + "s"

    def __str__(self) -> str:
        return self.value


class Stability(str, enum.Enum):
    DEVELOPMENT = "development"
    ALPHA = "alpha"
    BETA = "beta"
    STABLE = "stable"

    def __str__(self) -> str:
        return self.value


_TYPE_RE = re.compile(r"^[a-zA-Z][0-9a-zA-Z_]{0,62}$")
_NAME_RE = re.compile(r"^[^\s/]+$")


@dataclass(frozen=True, order=True)
class ComponentID:
    """``type`` or ``type/name``, as in the OpenTelemetry Collector."""

    type: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> "ComponentID":
        """Raises ``ValueError`` with a message fit for a config error."""
        type_, sep, name = text.strip().partition("/")
        if not _TYPE_RE.match(type_):
            raise ValueError(
                f"invalid component id {text!r}: the type must start with a letter "
                "and hold only letters, digits and '_'"
            )
        if sep and not _NAME_RE.match(name):
            raise ValueError(
                f"invalid component id {text!r}: the name after '/' must be non-empty "
                "and hold no spaces or '/'"
            )
        return cls(type_, name)

    def __str__(self) -> str:
        return f"{self.type}/{self.name}" if self.name else self.type


class ComponentConfig(BaseModel):
    """Base of every component's config: typed, documented, unknown keys rejected.

    Subclasses document each field with ``Field(description=...)``; the
    component reference is generated from those descriptions.
    """

    # Numbers from ${env:...} references stay usable in string fields (a numeric password).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, coerce_numbers_to_str=True)


class Host(Protocol):
    """What a component may ask of the running service."""

    def get_extension(self, id: ComponentID) -> Any | None: ...


@runtime_checkable
class Component(Protocol):
    """Start and shutdown are safe in any order: shutdown before start, or twice."""

    async def start(self, host: Host) -> None: ...

    async def shutdown(self) -> None: ...


@runtime_checkable
class Consumer(Protocol):
    """Takes whole batches.

    ``consume`` returns once the batch is accepted (queued or passed on).
    It raises a :class:`collector.errors.ConsumeError` subclass to say the
    batch was refused and whether trying again can help. The caller keeps
    ownership: the callee must not change the batch unless it declared
    ``mutates_data``, in which case fan-out hands it a private copy.
    """

    mutates_data: bool

    async def consume(self, batch: "Batch") -> None: ...


@runtime_checkable
class Stateful(Protocol):
    """A component whose state outlives a reload (SIGHUP).

    On reload the service asks the old instance to ``hand_over`` instead of
    shutting down: stop like ``shutdown``, but return what it holds (queued
    batches, cumulative series, read positions) rather than draining or
    dropping it. The new instance of the same kind, id and type gets it in
    ``take_over`` before it starts.
    """

    async def hand_over(self) -> Any: ...

    def take_over(self, state: Any) -> None: ...


class Processor(Component, Consumer, Protocol):
    pass


class Exporter(Component, Consumer, Protocol):
    pass


@dataclass
class Settings:
    """What every component is created with, besides its config."""

    id: ComponentID
    kind: Kind
    logger: logging.Logger
    telemetry: "ComponentTelemetry"
    #: the signals this instance handles: for a receiver, those it feeds;
    #: for an exporter or connector, those it consumes.
    signals: frozenset[Signal] = frozenset()
    #: processors only: the pipeline this instance belongs to.
    pipeline: str = ""

    @property
    def signal(self) -> Signal:
        """The single signal of a processor instance."""
        (only,) = self.signals
        return only


@dataclass(frozen=True)
class Factory:
    """Declares a component type.

    ``signals`` maps each supported signal to its stability; for connectors
    the keys are ``(input, output)`` pairs.
    """

    type: str
    kind: Kind
    config: type[ComponentConfig]
    create: Callable[..., Any]
    signals: Mapping[Any, Stability] = field(default_factory=dict)
    description: str = ""
    #: for extensions, which have no signals to carry a stability
    stability: Stability = Stability.ALPHA

    def supports(self, signal: Signal) -> bool:
        return signal in self.signals

    def connects(self, source: Signal, target: Signal) -> bool:
        return (source, target) in self.signals
