"""The ``resource`` processor: the ``attributes`` actions applied to resource attributes.

As in the OpenTelemetry Collector, the actions are listed under
``attributes`` and apply to every resource of every batch, in any signal.

```yaml
processors:
  resource:
    attributes:
      - {key: deployment.environment, value: prod, action: upsert}
      - {key: host.name, from_attribute: k8s.node.name, action: insert}
      - {key: process.command_line, action: delete}
```
"""

from __future__ import annotations

from pydantic import Field

from collector.component import ComponentConfig, Consumer, Factory, Host, Kind, Settings, Signal, Stability
from collector.pdata import Batch
from collector.processors.actions import Action, compile_actions
from collector.processors.editing import edit_batch


class ResourceConfig(ComponentConfig):
    attributes: list[Action] = Field(default_factory=list, description="Actions applied in order to resource attributes.")


class ResourceProcessor:
    mutates_data = True

    def __init__(self, settings: Settings, config: ResourceConfig, next: Consumer) -> None:
        self._next = next
        self._edit = compile_actions(config.attributes) if config.attributes else None

    async def start(self, host: Host) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def consume(self, batch: Batch) -> None:
        if self._edit is not None:
            batch = edit_batch(batch, resource=self._edit)
        await self._next.consume(batch)


def create(settings: Settings, config: ResourceConfig, next: Consumer) -> ResourceProcessor:
    return ResourceProcessor(settings, config, next)


factory = Factory(
    type="resource",
    kind=Kind.PROCESSOR,
    config=ResourceConfig,
    create=create,
    signals={Signal.LOGS: Stability.ALPHA, Signal.METRICS: Stability.ALPHA, Signal.TRACES: Stability.ALPHA},
    description="Edits resource attributes with the attributes processor's actions.",
)
