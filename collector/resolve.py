"""From loaded YAML to a checked service description, reporting every error at once.

This is the whole of ``fathom validate`` short of creating components: each
component id parsed and its type found (with a suggestion when misspelt), its
config validated by its own typed class, every pipeline reference checked,
signal support checked, connectors used on both sides, and the pipeline
graph checked for cycles. Errors carry file, line, column and key path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collector.component import ComponentConfig, ComponentID, Factory, Kind, Signal
from collector.config import (
    ConfigErrors,
    ConfigIssue,
    LoadedConfig,
    Path,
    issues_from_validation,
    suggest,
)
from collector.registry import PluginError, Registry


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receivers: list[str] = Field(default_factory=list, description="Receivers and connectors feeding the pipeline.")
    processors: list[str] = Field(default_factory=list, description="Processors, applied in order.")
    exporters: list[str] = Field(default_factory=list, description="Exporters and connectors it fans out to.")


class MetricsTelemetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: str = Field("normal", pattern="^(none|basic|normal|detailed)$",
                       description="'none' turns the collector's own metrics endpoint off.")
    address: str = Field("127.0.0.1:8888", description="Where the collector's own metrics are served.")


class LogsTelemetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: str = Field("info", pattern="^(?i:debug|info|warn|warning|error)$", description="Least severe level logged.")
    encoding: str = Field("json", pattern="^(json|console)$", description="json (default) or console.")


class TelemetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics: MetricsTelemetryConfig = Field(default_factory=MetricsTelemetryConfig)
    logs: LogsTelemetryConfig = Field(default_factory=LogsTelemetryConfig)


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    extensions: list[str] = Field(default_factory=list, description="Extensions to start, in order.")
    pipelines: dict[str, PipelineConfig] = Field(default_factory=dict, description="The pipelines by id.")
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig, description="The collector's own telemetry.")
    shutdown_timeout: float = Field(30.0, ge=0, description="Seconds allowed for draining on shutdown.")


@dataclass(frozen=True)
class ComponentSpec:
    id: ComponentID
    kind: Kind
    factory: Factory
    config: ComponentConfig


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    signal: Signal
    receivers: tuple[ComponentID, ...]
    processors: tuple[ComponentID, ...]
    exporters: tuple[ComponentID, ...]


@dataclass
class ResolvedConfig:
    """Everything needed to build the service; nothing has been created yet."""

    components: dict[tuple[Kind, ComponentID], ComponentSpec]
    pipelines: dict[str, PipelineSpec]
    extensions: list[ComponentID]
    service: ServiceConfig
    loaded: LoadedConfig
    warnings: list[ConfigIssue] = field(default_factory=list)

    def spec(self, kind: Kind, id: ComponentID) -> ComponentSpec:
        return self.components[(kind, id)]


_SECTIONS = (Kind.RECEIVER, Kind.PROCESSOR, Kind.EXPORTER, Kind.CONNECTOR, Kind.EXTENSION)

Components = dict[tuple[Kind, ComponentID], ComponentSpec]
#: every (kind, key) written in the config, valid or not
Declared = set[tuple[Kind, str]]
#: records one issue: (path, message, suggestion)
Report = Callable[..., None]


def resolve(loaded: LoadedConfig, registry: Registry) -> ResolvedConfig:
    """Check the whole config. Raises ConfigErrors listing every problem found."""
    issues: list[ConfigIssue] = []

    def issue(path: Path, message: str, suggestion: str | None = None) -> None:
        issues.append(ConfigIssue(path, message, loaded.position(path), suggestion))

    components = _resolve_components(loaded, registry, issue, issues)
    # A reference to a component that is configured but invalid is not a second error.
    declared = {(kind, key) for kind in _SECTIONS
                for key in (loaded.data.get(kind.section) if isinstance(loaded.data.get(kind.section), dict) else {})}
    service = _resolve_service(loaded, issue, issues)
    if service is not None:
        pipelines = _resolve_pipelines(service, components, declared, issue)
        extensions = _resolve_extensions(service, components, declared, issue)
        if not issues:
            _check_connectors(pipelines, components, issue)
        if not issues:
            _check_cycles(pipelines, {id for kind, id in components if kind is Kind.CONNECTOR}, issue)
    if issues:
        raise ConfigErrors(sorted(issues, key=_file_order))
    return ResolvedConfig(components, pipelines, extensions, service, loaded, list(loaded.warnings))


def _file_order(issue: ConfigIssue) -> tuple[int, str, int, int]:
    p = issue.position
    return (0, p.file, p.line, p.column) if p else (1, "", 0, 0)


def _resolve_components(loaded: LoadedConfig, registry: Registry, issue: Report,
                        issues: list[ConfigIssue]) -> Components:
    out: dict[tuple[Kind, ComponentID], ComponentSpec] = {}
    for kind in _SECTIONS:
        section = loaded.data.get(kind.section)
        if section is None:
            continue
        if not isinstance(section, dict):
            issue((kind.section,), f"must be a mapping of {kind} ids to their configs, not {_kind_of(section)}")
            continue
        for key, raw in section.items():
            path: Path = (kind.section, key)
            try:
                id = ComponentID.parse(str(key))
            except ValueError as exc:
                issue(path, str(exc))
                continue
            try:
                factory = registry.get(kind, id.type)
            except PluginError as exc:
                issue(path, str(exc))
                continue
            if factory is None:
                known = registry.types(kind)
                hint = suggest(id.type, known)
                issue(path, f'unknown {kind} type "{id.type}"'
                      + ("" if hint else f" (known {kind} types: {', '.join(known) or 'none'})"), hint)
                continue
            if raw is None:
                raw = {}
            if not isinstance(raw, dict):
                issue(path, f'the config of {kind} "{id}" must be a mapping, not {_kind_of(raw)}')
                continue
            try:
                config = factory.config.model_validate(raw)
            except ValidationError as exc:
                issues.extend(issues_from_validation(exc, path, loaded, factory.config))
                continue
            out[(kind, id)] = ComponentSpec(id, kind, factory, config)
    return out


def _resolve_service(loaded: LoadedConfig, issue: Report, issues: list[ConfigIssue]) -> ServiceConfig | None:
    raw = loaded.data.get("service")
    if raw is None:
        issue((), "the 'service' section is missing: it lists the pipelines to run")
        return None
    if not isinstance(raw, dict):
        issue(("service",), f"must be a mapping, not {_kind_of(raw)}")
        return None
    try:
        service = ServiceConfig.model_validate(raw)
    except ValidationError as exc:
        issues.extend(issues_from_validation(exc, ("service",), loaded, ServiceConfig))
        return None
    if not service.pipelines:
        issue(("service", "pipelines"), "at least one pipeline is required")
    return service


def _resolve_pipelines(service: ServiceConfig, components: Components, declared: Declared,
                       issue: Report) -> dict[str, PipelineSpec]:
    out = {}
    signal_names = [s.value for s in Signal]
    for name, pipeline in service.pipelines.items():
        path: Path = ("service", "pipelines", name)
        type_, sep, suffix = name.partition("/")
        if type_ not in signal_names or (sep and not suffix):
            issue(path, f'invalid pipeline id "{name}": it must be logs, metrics or traces, '
                        "optionally followed by /name", suggest(type_, signal_names))
            continue
        signal = Signal(type_)
        receivers = _references(pipeline.receivers, path + ("receivers",), (Kind.RECEIVER, Kind.CONNECTOR),
                                signal, components, declared, issue)
        processors = _references(pipeline.processors, path + ("processors",), (Kind.PROCESSOR,),
                                 signal, components, declared, issue)
        exporters = _references(pipeline.exporters, path + ("exporters",), (Kind.EXPORTER, Kind.CONNECTOR),
                                signal, components, declared, issue)
        if not pipeline.receivers:
            issue(path + ("receivers",), f'pipeline "{name}" must have at least one receiver')
        if not pipeline.exporters:
            issue(path + ("exporters",), f'pipeline "{name}" must have at least one exporter')
        out[name] = PipelineSpec(name, signal, tuple(receivers), tuple(processors), tuple(exporters))
    return out


def _references(names: list[str], path: Path, kinds: tuple[Kind, ...], signal: Signal,
                components: Components, declared: Declared, issue: Report) -> list[ComponentID]:
    """Check one list of a pipeline; connectors are looked up as the second kind."""
    role = kinds[0]
    ids: list[ComponentID] = []
    seen: set[ComponentID] = set()
    for i, text in enumerate(names):
        item: Path = path + (i,)
        try:
            id = ComponentID.parse(text)
        except ValueError as exc:
            issue(item, str(exc))
            continue
        if id in seen:
            issue(item, f'references {role} "{text}" more than once')
            continue
        seen.add(id)
        kind = next((k for k in kinds if (k, id) in components), None)
        if kind is None and any((k, text) in declared for k in kinds):
            continue  # configured, but its own config is invalid: already reported there
        if kind is None:
            configured = [key for (k, key) in declared if k in kinds]
            hint = suggest(text, configured)
            issue(item, f'references {role} "{text}" which is not configured'
                  + ("" if hint else f" (add it under {role.section}: or remove the reference)"), hint)
            continue
        factory = components[(kind, id)].factory
        if kind in (Kind.RECEIVER, Kind.PROCESSOR, Kind.EXPORTER) and not factory.supports(signal):
            supported = ", ".join(sorted(str(s) for s in factory.signals)) or "none"
            issue(item, f'{kind} "{text}" does not support {signal} (it supports: {supported})')
            continue
        ids.append(id)
    return ids


def _resolve_extensions(service: ServiceConfig, components: Components, declared: Declared,
                        issue: Report) -> list[ComponentID]:
    # Extensions carry no signal: pass any, the support check is skipped for them.
    return _references(service.extensions, ("service", "extensions"), (Kind.EXTENSION,),
                       Signal.LOGS, components, declared, issue)


def _check_connectors(pipelines: dict[str, PipelineSpec], components: Components, issue: Report) -> None:
    """A connector must end at least one pipeline and start one, for a pair it supports."""
    for (kind, id), spec in components.items():
        if kind is not Kind.CONNECTOR:
            continue
        as_exporter = [p for p in pipelines.values() if id in p.exporters]
        as_receiver = [p for p in pipelines.values() if id in p.receivers]
        if not as_exporter and not as_receiver:
            continue  # configured but unused: like the Collector, it is simply not built
        path: Path = ("connectors", str(id))
        if not as_exporter or not as_receiver:
            used, missing = ("exporter", "receiver") if as_exporter else ("receiver", "exporter")
            issue(path, f'connector "{id}" is used as {used} in pipeline '
                        f'"{(as_exporter or as_receiver)[0].name}" but not as {missing} in any pipeline')
            continue
        for source in as_exporter:
            if not any(spec.factory.connects(source.signal, target.signal) for target in as_receiver):
                targets = ", ".join(sorted({str(t.signal) for t in as_receiver}))
                pairs = ", ".join(f"{a}->{b}" for a, b in spec.factory.signals) or "none"
                issue(path, f'connector "{id}" cannot connect {source.signal} (pipeline "{source.name}") '
                            f"to {targets} (it supports: {pairs})")
        for target in as_receiver:
            if not any(spec.factory.connects(source.signal, target.signal) for source in as_exporter):
                issue(path, f'connector "{id}" cannot feed {target.signal} pipeline "{target.name}" '
                            "from the pipelines that export to it")


def _check_cycles(pipelines: dict[str, PipelineSpec], connectors: set[ComponentID], issue: Report) -> None:
    """Connectors join pipelines; data must never flow back into a pipeline it came from.

    Only connectors join: a receiver and an exporter that share an id (the
    ``otlp`` receiver and the ``otlp`` exporter of a gateway) are two components.
    """
    downstream: dict[str, list[str]] = {
        name: [q.name for q in pipelines.values() if set(p.exporters) & set(q.receivers) & connectors]
        for name, p in pipelines.items()
    }
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> bool:
        state[name] = 1
        for nxt in downstream[name]:
            if state.get(nxt) == 1:
                walked = trail + [name]
                cycle = walked[walked.index(nxt):] + [nxt]
                issue(("service", "pipelines", nxt), "pipelines form a cycle through connectors: " + " -> ".join(cycle))
                return True
            if state.get(nxt) is None and visit(nxt, trail + [name]):
                return True
        state[name] = 2
        return False

    for name in pipelines:
        if state.get(name) is None and visit(name, []):
            return


def _kind_of(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "empty"}.get(type(value), type(value).__name__)
