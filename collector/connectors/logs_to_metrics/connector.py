"""The ``logs_to_metrics`` connector: ends a logs pipeline, feeds a metrics pipeline.

Raw line chunks go through the scanner (compiled for JSON when built);
OTLP records use the same rules, their body parsed by the configured
parser or, when it is already a map, read as it is. Consecutive records
with string or bytes bodies and the same constants (the resource, and the
record attributes the rules read) are scanned as one buffer with record
ends, as a chunk of lines is: the scanner's per-call cost is paid per run,
not per record, and records stay in order. Metrics are emitted on a timer
(``flush_interval``) and on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Iterable, Mapping

from collector.component import Consumer, Host, Settings, Signal
from collector.connectors.logs_to_metrics.aggregate import Aggregator, merge
from collector.connectors.logs_to_metrics.config import Config
from collector.connectors.logs_to_metrics.emf import EmfMetrics, EmfScanner
from collector.connectors.logs_to_metrics.plan import Plan
from collector.connectors.logs_to_metrics.scan_py import Scanner
from collector.connectors.logs_to_metrics.text_parsers import parse_logfmt, regex_parser
from collector.pdata import Logs, Metrics
from collector.pdata.anyvalue import attributes_from_proto, from_anyvalue

BAD_RECORDS = "fathom_logs_to_metrics_bad_records"
OVERFLOWED = "fathom_logs_to_metrics_overflow_series"


def make_scanner(plan: Plan) -> Any:
    """The fastest scanner for the plan's parser: the compiled twin reads JSON only."""
    config = plan.config
    if config.parser == "json":
        from _fastpath import JsonScanner

        return JsonScanner(plan)
    if config.parser == "logfmt":
        return Scanner(plan, parse_logfmt)
    if config.parser == "regex":
        assert config.pattern is not None
        return Scanner(plan, regex_parser(config.pattern))
    raise ValueError(f"no line scanner for parser {config.parser!r}")  # emf: see Pipeline


class Pipeline:
    """Scanner plus aggregator: the connector's work without the asyncio around it."""

    def __init__(self, config: Config, on_overflow: Any = lambda name, n: None) -> None:
        self.plan = Plan(config)
        # EMF events carry their own metric definitions: the emf module records them beside the rules.
        self.emf = EmfMetrics(config, on_overflow) if config.parser == "emf" else None
        self.scanner = EmfScanner(self.plan, self.emf) if self.emf else make_scanner(self.plan)
        # OTLP records with a map body skip line parsing; the twin applies rules to dicts.
        self.records = self.scanner if isinstance(self.scanner, Scanner) else Scanner(self.plan)
        self.aggregator = Aggregator(self.plan, on_overflow)
        #: the record attributes any rule reads; only they decide a record's constants
        self.attribute_names = frozenset(p.keys[0] for p in self.plan.slots if p.root == "attributes")

    def consume(self, batch: Logs, now_ns: int) -> None:
        if batch.chunks is not None:
            for chunk in batch.chunks:
                consts = self.plan.consts(chunk.resource, chunk.attributes)
                self.scanner.scan(chunk.data, chunk.ends, consts, now_ns)
            return
        for rl in batch.request.resource_logs:
            self._consume_records(attributes_from_proto(rl.resource.attributes),
                                  (r for sl in rl.scope_logs for r in sl.log_records), now_ns)

    def _consume_records(self, resource: Mapping[str, Any], records: Iterable[Any], now_ns: int) -> None:
        """One resource's records in order, string and bytes bodies scanned in runs of equal constants."""
        key: tuple | None = None
        consts: list[Any] = []
        bodies: list[bytes] = []
        ends: list[int] = []

        def scan_run() -> None:
            if bodies:
                self.scanner.scan(b"".join(bodies), ends[:], consts, now_ns)
                bodies.clear()
                ends.clear()

        names = self.attribute_names
        for record in records:
            # Only the attributes the rules read decide the constants, so only they are decoded.
            this = tuple([(kv.key, from_anyvalue(kv.value)) for kv in record.attributes if kv.key in names]) \
                if names else ()
            if this != key:
                scan_run()
                key, consts = this, self.plan.consts(resource, dict(this))
            body = record.body
            kind = body.WhichOneof("value")
            if kind == "string_value":
                data = body.string_value.encode()
            elif kind == "bytes_value":
                data = body.bytes_value
            else:  # a map body is read as it is; no body: the attributes are the record
                scan_run()
                self.records.apply(from_anyvalue(body) if kind == "kvlist_value" else {}, consts, now_ns)
                continue
            bodies.append(data)
            ends.append(len(data) + (ends[-1] if ends else 0))
        scan_run()

    def pop_bad(self) -> dict[str, int]:
        bad = self.scanner.pop_bad()
        if self.records is not self.scanner:
            for reason, n in self.records.pop_bad().items():
                bad[reason] = bad.get(reason, 0) + n
        return bad

    def flush(self, now_ns: int) -> Metrics:
        interval = self.scanner.drain()
        if self.records is not self.scanner:
            for mine, other in zip(interval, self.records.drain()):
                _merge_intervals(mine, other)
        metrics = self.aggregator.flush(interval, now_ns)
        if self.emf is not None:
            metrics = Metrics(metrics.resource_metrics + self.emf.flush(now_ns).resource_metrics)
        return metrics


def _merge_intervals(into: dict, other: dict) -> None:
    for key, acc in other.items():
        if key in into:
            merge(into[key], acc)
        else:
            into[key] = acc


class LogsToMetrics:
    mutates_data = False

    def __init__(self, settings: Settings, config: Config, next: Mapping[Signal, Consumer]) -> None:
        self.settings = settings
        self.config = config
        self.next = next[Signal.METRICS]
        self.pipeline = Pipeline(config, self._overflowed)
        self._task: asyncio.Task | None = None
        self._stopped = False

    async def start(self, host: Host) -> None:
        if self._task is None and not self._stopped:
            self._task = asyncio.create_task(self._flush_loop())

    async def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def consume(self, batch: Logs) -> None:
        self.pipeline.consume(batch, time.time_ns())
        for reason, n in self.pipeline.pop_bad().items():
            self.settings.telemetry.add(BAD_RECORDS, n, {"reason": reason},
                                        description="Log records that could not be turned into metrics")

    async def flush(self) -> None:
        """Emit the interval's metrics now; the timer calls this every ``flush_interval``."""
        metrics = self.pipeline.flush(time.time_ns())
        if metrics.item_count():
            await self.next.consume(metrics)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.flush_interval)
            try:
                await self.flush()
            except Exception:  # a refused batch must not stop the timer
                self.settings.logger.exception("logs_to_metrics: emitting metrics failed")

    def _overflowed(self, metric: str, n: int) -> None:
        self.settings.telemetry.add(OVERFLOWED, n, {"metric": metric},
                                    description="New series folded into the overflow series")


def create(settings: Settings, config: Config, next: Mapping[Signal, Consumer]) -> LogsToMetrics:
    return LogsToMetrics(settings, config, next)
