"""Configuration of the ``awsemf`` exporter, named as the OpenTelemetry Collector's awsemf names it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from collector import emf
from collector.component import ComponentConfig
from exporters.aws.config import AwsMetricsExporterConfig
from exporters.awsemf.naming import check_pattern

#: Retention periods CloudWatch Logs accepts (days); 0 leaves the log group's retention alone.
RETENTION_DAYS = (0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                  2557, 2922, 3288, 3653)
_TAG_KEY = re.compile(r"^[\w\s.:/=+\-@]{1,128}$")


def _compile(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


class LabelMatcher(ComponentConfig):
    label_names: list[str] = Field(min_length=1, description="Attributes whose values are joined and matched.")
    separator: str = Field(";", description="Joins the values of label_names before matching.")
    regex: str = Field(description="Matches (searches) the joined values.")

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        return _compile(value)


class MetricDeclaration(ComponentConfig):
    dimensions: list[list[str]] = Field(
        default_factory=list,
        description="Dimension sets for the matching metrics; a set is used when the point has all its keys.",
    )
    metric_name_selectors: list[str] = Field(
        min_length=1, description="Regular expressions; a metric whose name matches one is selected."
    )
    label_matchers: list[LabelMatcher] = Field(
        default_factory=list, description="When set, a point must also satisfy one of these."
    )

    @field_validator("dimensions")
    @classmethod
    def _dimension_sets(cls, sets: list[list[str]]) -> list[list[str]]:
        for i, names in enumerate(sets):
            if len(set(names)) > emf.MAX_DIMENSIONS_PER_SET:
                raise ValueError(f"dimension set {i} has {len(set(names))} keys; CloudWatch allows "
                                 f"{emf.MAX_DIMENSIONS_PER_SET}")
        return sets

    @field_validator("metric_name_selectors")
    @classmethod
    def _selectors(cls, values: list[str]) -> list[str]:
        return [_compile(v) for v in values]


class AwsEmfConfig(AwsMetricsExporterConfig):
    log_group_name: str = Field(
        "/metrics/default", description="Log group; may hold placeholders such as {ServiceName} or {PodName}."
    )
    log_stream_name: str = Field(
        "otel-stream", description="Log stream; may hold placeholders such as {TaskId} or {NodeName}."
    )
    dimension_rollup_option: Literal[
        "NoDimensionRollup", "SingleDimensionRollup", "SingleDimensionRollupOnly", "ZeroAndSingleDimensionRollup"
    ] = Field("NoDimensionRollup", description="Extra dimension sets: none, each single key, or also the empty set.")
    metric_declarations: list[MetricDeclaration] = Field(
        default_factory=list,
        description="When set, only metrics matching a declaration are extracted, with its dimension sets.",
    )
    output_destination: Literal["cloudwatch", "stdout"] = Field(
        "cloudwatch", description="Send events with PutLogEvents, or print them one per line."
    )
    log_retention: int = Field(0, description="Retention in days set on log groups this exporter creates; 0: none.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags set on log groups this exporter creates.")

    @field_validator("log_group_name", "log_stream_name")
    @classmethod
    def _pattern(cls, value: str) -> str:
        check_pattern(value)
        return value

    @field_validator("log_retention")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in RETENTION_DAYS:
            raise ValueError(f"log_retention {value} is not one of {', '.join(map(str, RETENTION_DAYS))}")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        if len(tags) > 50:
            raise ValueError(f"{len(tags)} tags; a log group takes at most 50")
        for key, value in tags.items():
            if not _TAG_KEY.match(key) or key.startswith("aws:"):
                raise ValueError(f"tag key {key!r}: 1 to 128 letters, digits, spaces or _.:/=+-@, not 'aws:'")
            if len(value) > 256:
                raise ValueError(f"tag {key!r}: the value is longer than 256 characters")
        return tags

