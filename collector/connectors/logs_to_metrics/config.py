"""The operator's rules, validated at load: every path and condition is parsed here."""

from __future__ import annotations

import re
from typing import Literal, Union

from pydantic import Field, field_validator, model_validator

from collector.component import ComponentConfig
from collector.configtypes import Duration, PositiveInt
from collector.expr import Expression, ExpressionError, Path, parse_path

_METRIC_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$")


class Dimension(ComponentConfig):
    """One attribute of the produced series, read from a record field."""

    field: str = Field(description="Field path to read (`http.status`, `body[\"a.b\"]`, `resource.service.name`).")
    name: str | None = Field(None, description="Attribute name on the series; defaults to the field path as written.")
    default: str | None = Field(None, description="Value used when the field is missing or null.")
    on_missing: Literal["omit", "skip"] = Field(
        "omit", description="When missing and no default: `omit` the attribute, or `skip` the record for this metric."
    )

    @field_validator("field")
    @classmethod
    def _path(cls, v: str) -> str:
        parse_path(v)
        return v

    @model_validator(mode="after")
    def _default_or_skip(self) -> "Dimension":
        if self.default is not None and self.on_missing == "skip":
            raise ValueError("give either `default` or `on_missing: skip`, not both")
        return self

    @property
    def path(self) -> Path:
        return parse_path(self.field)

    @property
    def attribute(self) -> str:
        return self.name or self.field


class MetricRule(ComponentConfig):
    """One metric computed from the records that pass `where`."""

    name: str = Field(description="Metric name, e.g. `http.server.requests`.")
    type: Literal["counter", "updown_counter", "gauge", "histogram"] = Field(description="Instrument kind.")
    value: str | None = Field(
        None, description="Field path holding the number to add or record; a counter without it counts records."
    )
    unit: str = Field("", description="UCUM unit, e.g. `ms`, `By`, `{request}`.")
    description: str = Field("", description="Human-readable description of the metric.")
    buckets: list[float] | None = Field(None, description="Histogram only: explicit, increasing bucket upper bounds.")
    dimensions: list[Union[str, Dimension]] = Field(
        default_factory=list, description="Attributes of each series: a field path, or a mapping with name/default/on_missing."
    )
    where: str | None = Field(None, description="Condition a record must meet to count (see collector/expr.py).")
    cardinality_limit: PositiveInt = Field(
        10000, description="Series kept for this metric; further new series fold into one with otel.metric.overflow=\"true\"."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _METRIC_NAME.match(v):
            raise ValueError(f"invalid metric name {v!r}: start with a letter; letters, digits, '_', '.', '-', '/'")
        return v

    @field_validator("value")
    @classmethod
    def _value_path(cls, v: str | None) -> str | None:
        if v is not None:
            parse_path(v)
        return v

    @field_validator("dimensions")
    @classmethod
    def _dimensions(cls, v: list) -> list[Dimension]:
        dims = [Dimension(field=d) if isinstance(d, str) else d for d in v]
        names = [d.attribute for d in dims]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"dimension names repeat: {sorted(dup)}")
        return dims

    @field_validator("where")
    @classmethod
    def _where(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                Expression(v)
            except ExpressionError as exc:
                raise ValueError(f"in `where`: {exc}") from None
        return v

    @model_validator(mode="after")
    def _shape(self) -> "MetricRule":
        if self.type == "histogram":
            if not self.buckets:
                raise ValueError("a histogram needs `buckets`")
            if any(b <= a for a, b in zip(self.buckets, self.buckets[1:])):
                raise ValueError(f"`buckets` must be strictly increasing: {self.buckets}")
        elif self.buckets is not None:
            raise ValueError("`buckets` applies to histograms only")
        if self.type != "counter" and self.value is None:
            raise ValueError(f"a {self.type} needs `value`: the field holding the number")
        return self

    @property
    def dimension_list(self) -> list[Dimension]:
        """``dimensions`` after validation: always :class:`Dimension`."""
        return [d for d in self.dimensions if isinstance(d, Dimension)]


class TimestampConfig(ComponentConfig):
    field: str = Field(description="Field path holding the record's time.")
    format: Literal["rfc3339", "epoch_s", "epoch_ms", "epoch_ns"] = Field(
        "rfc3339", description="How the field is written."
    )

    @field_validator("field")
    @classmethod
    def _path(cls, v: str) -> str:
        parse_path(v)
        return v


class Config(ComponentConfig):
    """Turn log records into metrics by rules."""

    parser: Literal["json", "logfmt", "emf", "regex"] = Field("json", description="How raw lines are read.")
    pattern: str | None = Field(None, description="regex parser only: a regular expression with named groups.")
    timestamp: TimestampConfig | None = Field(None, description="Where record times come from; arrival time if unset.")
    temporality: Literal["cumulative", "delta"] = Field("cumulative", description="Output aggregation temporality.")
    flush_interval: Duration = Field(10.0, description="How often aggregated metrics are emitted.")
    max_staleness: Duration = Field(300.0, description="Series not updated for this long are dropped (cumulative).")
    max_line_bytes: PositiveInt = Field(65536, description="Longer lines are counted as bad (`too_long`) and skipped.")
    metrics: list[MetricRule] = Field(default_factory=list, description="The metric rules.")
    emf_cardinality_limit: PositiveInt = Field(
        10000, description="parser `emf` only: series kept per EMF metric; further new series fold into one "
                           "with otel.metric.overflow=\"true\"."
    )

    @field_validator("flush_interval")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("flush_interval must be positive")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Config":
        if self.parser == "regex":
            if not self.pattern:
                raise ValueError("parser `regex` needs `pattern`")
            try:
                compiled = re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"bad `pattern` at position {exc.pos}: {exc.msg}") from None
            if not compiled.groupindex:
                raise ValueError("`pattern` needs named groups, e.g. (?P<status>\\d+)")
        elif self.pattern is not None:
            raise ValueError("`pattern` applies to parser `regex` only")
        if not self.metrics and self.parser != "emf":
            raise ValueError("`metrics` must list at least one rule")
        names = [m.name for m in self.metrics]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"metric names repeat: {sorted(dup)}")
        return self
