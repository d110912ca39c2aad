"""One counter for everything not sent, by reason: ``fathom_exporter_dropped{reason=...}``.

Counted in data points, per batch, and logged once per batch, so that no
loss is silent and none floods the log.
"""

from __future__ import annotations

from typing import Mapping

from collector.component import Settings
from collector.errors import PermanentError
from exporters.aws.errors import code_of

DROPPED = "fathom_exporter_dropped"


def count_dropped(settings: Settings, dropped: Mapping[str, int]) -> None:
    for reason, n in dropped.items():
        settings.telemetry.add(DROPPED, n, {"reason": reason}, unit="{datapoints}",
                               description="Data points not sent, by reason.")
    if any(dropped.values()):
        settings.logger.warning("dropped data points: %s",
                                ", ".join(f"{r}={n}" for r, n in sorted(dropped.items()) if n))


def refusal_reason(exc: PermanentError) -> str:
    """``rejected:<service error code>`` for a request the service refused for good."""
    return f"rejected:{code_of(exc) or 'permanent_error'}"
