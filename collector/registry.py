"""Finds component factories through package entry points, lazily.

One entry-point group per kind (``fathom.receivers`` ...). Built-ins are
registered the same way as third-party packages, so ``pip install
fathom-foo`` adds a component without touching the core. An entry point is
imported only when its type is asked for, so a broken plugin fails the
config that uses it, not every start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

from collector.component import Factory, Kind

GROUPS = {kind: f"fathom.{kind.section}" for kind in Kind}


class PluginError(Exception):
    """An entry point that could not be loaded or is not a Factory."""


@dataclass
class Registry:
    """The factories available to this process, by kind and type."""

    _entry_points: dict[Kind, dict[str, EntryPoint]] = field(default_factory=dict)
    _loaded: dict[tuple[Kind, str], Factory] = field(default_factory=dict)

    @classmethod
    def discover(cls) -> "Registry":
        registry = cls()
        installed = entry_points()  # one scan of every distribution's metadata, not one per group
        for kind, group in GROUPS.items():
            registry._entry_points[kind] = {ep.name: ep for ep in installed.select(group=group)}
        return registry

    def register(self, factory: Factory) -> None:
        """Add a factory directly (tests, embedding)."""
        self._loaded[(factory.kind, factory.type)] = factory

    def types(self, kind: Kind) -> list[str]:
        names = set(self._entry_points.get(kind, {}))
        names.update(t for k, t in self._loaded if k == kind)
        return sorted(names)

    def get(self, kind: Kind, type_: str) -> Factory | None:
        """The factory for ``type_``, or None if no such type is registered.

        Raises :class:`PluginError` when the entry point exists but is broken.
        """
        factory = self._loaded.get((kind, type_))
        if factory is not None:
            return factory
        ep = self._entry_points.get(kind, {}).get(type_)
        if ep is None:
            return None
        try:
            factory = ep.load()
        except Exception as exc:
            raise PluginError(f"{kind} {type_!r} from {ep.value} failed to load: {type(exc).__name__}: {exc}") from exc
        if not isinstance(factory, Factory) or factory.kind != kind or factory.type != type_:
            raise PluginError(f"{kind} {type_!r} from {ep.value} is not a {kind} Factory of type {type_!r}")
        self._loaded[(kind, type_)] = factory
        return factory
