"""The ``attributes`` processor: insert, update, upsert, delete, hash, extract and convert item attributes.

Items are log records, spans and metric data points; the actions and
``include``/``exclude`` follow the OpenTelemetry Collector's ``attributes``
processor (see :mod:`collector.processors.actions` and
:mod:`collector.processors.matching`). For metrics, matching is per metric
and the actions edit the attributes of its points.

```yaml
processors:
  attributes/scrub:
    include: {match_type: strict, services: [checkout]}
    actions:
      - {key: deployment.environment, value: prod, action: insert}
      - {key: user.email, action: hash}
      - {key: http.url, pattern: '^https?://(?P<http_host>[^/]+)', action: extract}
      - {key: http.status_code, action: convert, converted_type: int}
      - {pattern: '^internal\\.', action: delete}
```
"""

from __future__ import annotations

from pydantic import Field

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.pdata import Batch
from collector.processors.actions import Action, compile_actions
from collector.processors.editing import edit_batch
from collector.processors.matching import MatchProperties, compile_match


class AttributesConfig(ComponentConfig):
    actions: list[Action] = Field(default_factory=list, description="Actions applied in order to each item's attributes.")
    include: MatchProperties | None = Field(None, description="Only items with all these properties are edited.")
    exclude: MatchProperties | None = Field(None, description="Items with all these properties are left alone.")


class AttributesProcessor:
    mutates_data = True

    def __init__(self, settings: Settings, config: AttributesConfig, next: Consumer) -> None:
        self._next = next
        self._edit = compile_actions(config.actions) if config.actions else None
        self._match = compile_match(config.include, config.exclude, settings.signal)

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def consume(self, batch: Batch) -> None:
        if self._edit is not None:
            batch = edit_batch(batch, item=self._edit, match=self._match)
        await self._next.consume(batch)


def create(settings: Settings, config: AttributesConfig, next: Consumer) -> AttributesProcessor:
    return AttributesProcessor(settings, config, next)


factory = Factory(
    type="attributes",
    kind=Kind.PROCESSOR,
    config=AttributesConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA, Signal.METRICS: Stability.ALPHA, Signal.TRACES: Stability.ALPHA},
    description="Edits the attributes of log records, spans and metric points.",
)
