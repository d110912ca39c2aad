"""Which metrics a temporality processor converts: ``include``/``exclude`` by name, as in the OpenTelemetry Collector.

``cumulativetodelta`` and ``deltatocumulative`` take the same shape:
``{match_type: strict|regexp, metrics: [names or patterns]}``.
"""

from __future__ import annotations

import re
from typing import Callable, Literal

from pydantic import Field, model_validator

from collector.component import ComponentConfig


class MetricNames(ComponentConfig):
    match_type: Literal["strict", "regexp"] = Field("strict", description="`strict` names or `regexp` searches.")
    metrics: list[str] = Field(default_factory=list, description="Metric names, or patterns for regexp.")

    @model_validator(mode="after")
    def _patterns(self) -> "MetricNames":
        if self.match_type == "regexp":
            for p in self.metrics:
                try:
                    re.compile(p)
                except re.error as exc:
                    raise ValueError(f"invalid regular expression {p!r}: {exc}") from None
        return self

    def matcher(self) -> Callable[[str], bool]:
        if self.match_type == "strict":
            names = set(self.metrics)
            return names.__contains__
        regexes = [re.compile(p) for p in self.metrics]
        return lambda name: any(r.search(name) for r in regexes)


def name_filter(include: MetricNames | None, exclude: MetricNames | None) -> Callable[[str], bool]:
    inc = include.matcher() if include and include.metrics else None
    exc = exclude.matcher() if exclude and exclude.metrics else None
    return lambda name: (inc is None or inc(name)) and (exc is None or not exc(name))
