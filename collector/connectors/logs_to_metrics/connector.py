"""The ``logs_to_metrics`` connector: ends a logs pipeline, feeds a metrics pipeline.

Raw line chunks go through the scanner (compiled for JSON when built);
OTLP records use the same rules, their body parsed by the configured
parser or, when it is already a map, read as it is. Consecutive records
with string or bytes bodies and the same constants (the resource, and the
record attributes the rules read) are scanned as one buffer with record
ends, as a chunk of lines is: the scanner's per-call cost is paid per run,
not per record, and records stay in order. Metrics are emitted on a timer
(``flush_interval``) and on shutdown; on reload the series go to the
successor instead, unflushed, so cumulative series keep their start times.
Listed as a receiver of a logs pipeline too, the connector sends it the
records it could not use (``deadletter``).
"""

from __future__ import annotations

import contextlib
import gc
import time
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from collector.component import Consumer, Host, Settings, Signal
from collector.errors import ConsumeError
from collector.connectors.logs_to_metrics.aggregate import Aggregator, AggregatorState, HeldAggregator
from collector.connectors.logs_to_metrics.config import Config
from collector.connectors.logs_to_metrics.deadletter import DeadLetters
from collector.connectors.logs_to_metrics.emf import EmfMetrics, EmfScanner
from collector.connectors.logs_to_metrics.plan import Plan
from collector.connectors.logs_to_metrics.scan_py import Scanner
from collector.connectors.logs_to_metrics.text_parsers import parse_logfmt, regex_parser
from collector.pdata import Logs, Metrics
from collector.periodic import Periodic
from collector.pdata.anyvalue import attributes_from_proto, from_anyvalue

BAD_RECORDS = "fathom_logs_to_metrics_bad_records"
OVERFLOWED = "fathom_logs_to_metrics_overflow_records"
DROPPED_ON_RELOAD = "fathom_logs_to_metrics_reload_dropped_series"
DEAD_LETTERS_REFUSED = "fathom_logs_to_metrics_dead_letters_refused"


def make_scanner(plan: Plan, bad_records: bool = False) -> Any:
    """The fastest scanner for the plan's parser: the compiled twin reads JSON and logfmt."""
    import _fastpath

    config = plan.config
    if config.parser == "json":
        return _fastpath.JsonScanner(plan, bad_records=bad_records)
    if config.parser == "logfmt":
        if _fastpath.COMPILED:
            return _fastpath.JsonScanner(plan, bad_records=bad_records, syntax="logfmt")
        return Scanner(plan, parse_logfmt, bad_records=bad_records)
    if config.parser == "regex":
        assert config.pattern is not None
        return Scanner(plan, regex_parser(config.pattern), bad_records=bad_records)
    raise ValueError(f"no line scanner for parser {config.parser!r}")  # emf: see Pipeline


class Pipeline:
    """Scanner plus aggregator: the connector's work without the asyncio around it."""

    def __init__(self, config: Config, on_overflow: Any = lambda name, n: None, *, dead_letter: bool = False) -> None:
        """``dead_letter``: :meth:`consume` returns the bad records as logs (see ``deadletter``)."""
        self.plan = Plan(config)
        self.dead_letter = dead_letter
        # EMF events carry their own metric definitions: the emf module records them beside the rules.
        self.emf = EmfMetrics(config, on_overflow) if config.parser == "emf" else None
        self.scanner = EmfScanner(self.plan, self.emf, bad_records=dead_letter) if self.emf \
            else make_scanner(self.plan, dead_letter)
        # OTLP records with a map body skip line parsing; the twin applies rules to dicts.
        self.records = self.scanner if isinstance(self.scanner, Scanner) else Scanner(self.plan, bad_records=dead_letter)
        # The compiled scanner holds the series itself; any other scanner hands over intervals.
        self.held = hasattr(self.scanner, "hold")
        self.aggregator: Aggregator | HeldAggregator
        if self.held:
            self.aggregator = HeldAggregator(self.plan, self.scanner, on_overflow)
        else:
            self.aggregator = twin = Aggregator(self.plan, on_overflow)
            self.scanner.admit = twin.admits  # folds past cardinality limits as records arrive, as the tables do
        #: the record attributes any rule reads; only they decide a record's constants
        self.attribute_names = frozenset(p.keys[0] for p in self.plan.slots if p.root == "attributes")

    def consume(self, batch: Logs, now_ns: int) -> Logs | None:
        """Apply the rules to every record; the bad ones as logs when dead-lettering (else None)."""
        dead = DeadLetters() if self.dead_letter else None
        if batch.chunks is not None:
            for chunk in batch.chunks:
                consts = self.plan.consts(chunk.resource, chunk.attributes)
                self.scanner.scan(chunk.data, chunk.ends, consts, now_ns)
                if dead is not None:
                    dead.add_lines(chunk, self.scanner.pop_bad_records())
        else:
            for rl in batch.request.resource_logs:
                self._consume_records(rl, now_ns, dead)
        return dead.batch() if dead is not None else None

    def consume_lines(self, data: bytes | memoryview, now_ns: int) -> int:
        """Apply the rules to a buffer of newline-separated lines with no resource or attributes (a replay).

        Returns the lines seen: a replay need not count them beforehand, as a :class:`LineChunk` must.
        """
        return self.scanner.scan(data, None, self.plan.consts({}, {}), now_ns)

    def _consume_records(self, rl: Any, now_ns: int, dead: DeadLetters | None) -> None:
        """One resource's records in order, string and bytes bodies scanned in runs of equal constants."""
        resource = attributes_from_proto(rl.resource.attributes)
        key: tuple | None = None
        consts: list[Any] = []
        bodies: list[bytes] = []
        ends: list[int] = []
        run: list[tuple[Any, Any]] = []  # (scope logs, record) of each body, for dead letters

        def scan_run() -> None:
            if bodies:
                self.scanner.scan(b"".join(bodies), ends[:], consts, now_ns)
                if dead is not None:
                    for i, reason in self.scanner.pop_bad_records():
                        dead.add_record(rl, *run[i], reason)
                bodies.clear()
                ends.clear()
                run.clear()

        names = self.attribute_names
        for sl, record in ((sl, r) for sl in rl.scope_logs for r in sl.log_records):
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
                if self.held:  # into the held series now, so they see records in arrival order
                    self.aggregator.absorb(self.records.drain(), now_ns)
                if dead is not None:
                    for _, reason in self.records.pop_bad_records()[:1]:
                        dead.add_record(rl, sl, record, reason)
                continue
            run.append((sl, record))
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
        with _gc_paused():
            metrics = self.aggregator.flush(self._drain(), now_ns)
            if self.emf is not None:
                metrics = Metrics(metrics.resource_metrics + self.emf.flush(now_ns).resource_metrics)
        return metrics

    def hand_over(self, now_ns: int) -> "PipelineState":
        """The series state with the pending interval merged in, nothing emitted; this pipeline is done after."""
        self.aggregator.absorb(self._drain(), now_ns)
        if self.emf is not None:
            self.emf.absorb(now_ns)
        return PipelineState(self.aggregator.export(now_ns), self.emf)

    def take_over(self, state: "PipelineState") -> dict[str, int]:
        """Seed this (unused) pipeline from a predecessor's; the series dropped by metric name."""
        dropped = self.aggregator.adopt(state.aggregator)
        if state.emf is not None:
            emf_dropped = self.emf.adopt(state.emf) if self.emf is not None else {
                rule.rule.name: len(series) for rule, series in zip(state.emf.plan.rules, state.emf.aggregator.state)}
            for name, n in emf_dropped.items():
                if n:
                    dropped[name] = dropped.get(name, 0) + n
        return dropped

    def series_counts(self) -> dict[str, int]:
        """Series per metric at the last flush, EMF metrics included."""
        counts = self.aggregator.series_counts()
        if self.emf is not None:
            for name, n in self.emf.aggregator.series_counts().items():
                counts[name] = counts.get(name, 0) + n
        return counts

    def _drain(self) -> list[dict[tuple, list]]:
        """The interval the aggregator merges (none when the series are held: they are merged as they come)."""
        return [{} for _ in self.plan.rules] if self.held else self.scanner.drain()


@dataclass
class PipelineState:
    """What a connector hands its successor on reload (see :class:`collector.component.Stateful`)."""

    aggregator: AggregatorState
    emf: EmfMetrics | None


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Without the cyclic collector for the duration.

    A flush builds a few objects per series (100,000 series: half a million
    lists, dicts and points), none of them in a cycle; the collector's passes
    triggered by so many allocations were half the cost of a flush.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class LogsToMetrics:
    mutates_data = False

    def __init__(self, settings: Settings, config: Config, next: Mapping[Signal, Consumer]) -> None:
        self.settings = settings
        self.config = config
        self.next = next.get(Signal.METRICS)
        #: the logs pipelines fed with bad records, when the connector is listed as a receiver of one
        self.dead_letter = next.get(Signal.LOGS)
        self.pipeline = Pipeline(config, self._overflowed, dead_letter=self.dead_letter is not None)
        self._timer = Periodic(config.flush_interval, self.flush, name=f"{settings.id} flush", logger=settings.logger)
        self._stopped = False

    async def start(self, host: Host) -> None:
        if not self._stopped:
            self._timer.start()

    async def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self._timer.stop()
        await self.flush()

    async def hand_over(self) -> PipelineState:
        """Stop without flushing: the successor emits these series, with their start times, from its first flush."""
        self._stopped = True
        await self._timer.stop()
        return self.pipeline.hand_over(time.time_ns())

    def take_over(self, state: PipelineState) -> None:
        for metric, n in self.pipeline.take_over(state).items():
            self.settings.telemetry.add(DROPPED_ON_RELOAD, n, {"metric": metric},
                                        description="Series dropped on reload because their rule changed")

    async def consume(self, batch: Logs) -> None:
        dead = self.pipeline.consume(batch, time.time_ns())
        for reason, n in self.pipeline.pop_bad().items():
            self.settings.telemetry.add(BAD_RECORDS, n, {"reason": reason},
                                        description="Log records that could not be turned into metrics")
        if dead is not None and self.dead_letter is not None:
            try:
                await self.dead_letter.consume(dead)
            except ConsumeError as exc:
                # The good records are counted already: refusing the batch would count them twice on a retry.
                self.settings.logger.warning("the dead-letter pipeline refused %d bad records: %s",
                                             dead.item_count(), exc)
                self.settings.telemetry.add(DEAD_LETTERS_REFUSED, dead.item_count(),
                                            description="Bad records the dead-letter pipeline refused")

    async def flush(self) -> None:
        """Emit the interval's metrics now; the timer calls this every ``flush_interval``."""
        metrics = self.pipeline.flush(time.time_ns())
        if metrics.item_count() and self.next is not None:
            await self.next.consume(metrics)

    def series_counts(self) -> dict[str, int]:
        """Series per metric at the last flush; the status page shows them beside ``cardinality_limit``."""
        return self.pipeline.series_counts()

    def _overflowed(self, metric: str, n: int) -> None:
        self.settings.telemetry.add(OVERFLOWED, n, {"metric": metric},
                                    description="Records (EMF: values) of new series counted in the overflow series instead")


def create(settings: Settings, config: Config, next: Mapping[Signal, Consumer]) -> LogsToMetrics:
    return LogsToMetrics(settings, config, next)
