"""The monitor (实时资金监测): reads the outbox in order from its stored offset, keeps each party's
flows in sliding windows, evaluates every rule in force and writes alerts with their evidence.

Exactly-once in effect: the flows (the window state), the alerts and the offset of a batch commit
in one transaction; after a crash a new monitor reloads the windows from `monitor_flows` and the
suppression marks from `monitor_alerts`, so re-reading the uncommitted events yields the same
alerts, with the same ids, as a run that never stopped.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func, select

from puhui import clock
from puhui.db import reading, transaction
from puhui.events.outbox import Event, advance_offset, consumer_offset, read_events
from puhui.regtech.alerts import Alert, alert_id, insert_alerts
from puhui.regtech.rules import (
    DAY,
    Fan,
    LargeValue,
    NightBurst,
    RapidInOut,
    RoundAmount,
    Rule,
    Structuring,
    current_rules,
)
from puhui.regtech.tables import monitor_alerts, monitor_flows
from puhui.regtech.windows import Flow, Windows, flows_of

CONSUMER = "regtech.monitor"
SECOND = 1_000_000


class MonitorCrash(RuntimeError):
    """Raised on purpose by tests (`crash_after`) to prove a restart changes nothing."""


@functools.lru_cache(maxsize=4096)
def _china_hour(micros: int) -> tuple[int, str, int]:
    """(hour, date, start of that day in UTC micros) in China time, cached per hour of the epoch."""
    local = clock.from_micros(micros).astimezone(clock.CHINA)
    start = clock.to_micros(local.replace(hour=0, minute=0, second=0, microsecond=0))
    return local.hour, local.date().isoformat(), start


def _china(micros: int) -> tuple[int, str, int]:
    return _china_hour(micros - micros % (3600 * SECOND))  # China has no DST: whole hours map whole


def _since(history: tuple[Flow, ...], start: int) -> list[Flow]:
    return [f for f in history if f.at >= start]


@functools.lru_cache(maxsize=1024)
def _fen(amount) -> int:  # type: ignore[no-untyped-def]
    return int(amount * 100)


@dataclass(frozen=True)
class Hit:
    key: str
    start: int
    flows: tuple[Flow, ...]


def _large_value(p: LargeValue, flow: Flow, history: tuple[Flow, ...]) -> Hit | None:
    def matches(f: Flow) -> bool:
        return (f.channel == p.channel and p.party_kind in ("any", f.party_kind)
                and (p.cross_border is None or p.cross_border == f.cross_border))

    if not matches(flow):
        return None
    threshold = _fen(p.threshold)
    if flow.amount >= threshold:
        return Hit(f"single:{flow.position}:{flow.leg}", flow.at, (flow,))
    _, day, day_start = _china(flow.at)
    small = tuple(f for f in _since(history, day_start)
                  if f.direction == flow.direction and f.amount < threshold and matches(f))
    if sum(f.amount for f in small) >= threshold:
        return Hit(f"day:{day}:{flow.direction}", day_start, small)
    return None


def _structuring(p: Structuring, flow: Flow, history: tuple[Flow, ...]) -> Hit | None:
    high = _fen(p.threshold)
    low = _fen(p.threshold * p.low_ratio)

    def band(f: Flow) -> bool:
        return low <= f.amount < high and p.direction in ("any", f.direction)

    if not band(flow):
        return None
    start = flow.at - p.window_seconds * SECOND
    hits = tuple(f for f in _since(history, start) if band(f))
    return Hit("", start, hits) if len(hits) >= p.min_count else None


def _rapid_in_out(p: RapidInOut, flow: Flow, history: tuple[Flow, ...]) -> Hit | None:
    if flow.direction != "out":
        return None
    start = flow.at - p.window_seconds * SECOND
    recent = list(_since(history, start))
    ins = [f for f in recent if f.direction == "in"]
    if not ins:
        return None
    total_in = sum(f.amount for f in ins)
    outs = [f for f in recent if f.direction == "out" and f.at >= ins[0].at]
    if total_in >= _fen(p.min_in) and sum(f.amount for f in outs) * 1_000_000 >= total_in * int(p.out_ratio * 1_000_000):
        return Hit("", start, tuple(ins + outs))
    return None


def _fan(p: Fan, flow: Flow, history: tuple[Flow, ...]) -> Hit | None:
    direction = "in" if p.typology == "fan_in" else "out"
    if flow.direction != direction or p.party_kind not in ("any", flow.party_kind):
        return None
    start = flow.at - p.window_seconds * SECOND
    legs = tuple(f for f in _since(history, start) if f.direction == direction)
    return Hit("", start, legs) if len({f.counterparty for f in legs}) >= p.min_counterparties else None


def _round_amount(p: RoundAmount, flow: Flow, history: tuple[Flow, ...]) -> Hit | None:
    unit, floor = _fen(p.unit), _fen(p.min_amount)

    def round_(f: Flow) -> bool:
        return f.amount >= floor and f.amount % unit == 0

    if not round_(flow):
        return None
    start = flow.at - p.window_seconds * SECOND
    hits = tuple(f for f in _since(history, start) if round_(f))
    return Hit("", start, hits) if len(hits) >= p.min_count else None


def _night_burst(p: NightBurst, flow: Flow, history: tuple[Flow, ...]) -> Hit | None:
    def night(f: Flow) -> bool:
        return f.direction == "out" and p.start_hour <= _china(f.at)[0] < p.end_hour

    if not night(flow):
        return None
    start = flow.at - p.window_seconds * SECOND
    hits = tuple(f for f in _since(history, start) if night(f))
    return Hit("", start, hits) if len(hits) >= p.min_count else None


EVALUATORS: dict[str, Callable] = {
    "large_value": _large_value, "structuring": _structuring, "rapid_in_out": _rapid_in_out,
    "fan_in": _fan, "fan_out": _fan, "round_amount": _round_amount, "night_burst": _night_burst,
}


@dataclass
class Suppression:
    """What was already alerted: windowed rules stay quiet for a party until their window has passed."""
    last: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def allows(self, rule: Rule, party: str, hit: Hit, at: int) -> bool:
        if hit.key.startswith("single:"):
            return True
        seen = self.last.get((rule.code, party, hit.key))
        if seen is None:
            return True
        return bool(hit.key == "" and seen < at - rule.window_seconds * SECOND)

    def forget_before(self, cutoff: int) -> None:
        """Drop marks older than every window (as a reload from the tables would)."""
        if len(self.last) > 10_000:
            self.last = {k: at for k, at in self.last.items() if at >= cutoff}

    def mark(self, rule_code: str, party: str, key: str, at: int) -> None:
        self.last[(rule_code, party, key)] = at


def evaluate(rules: list[Rule], flow: Flow, windows: Windows, marks: Suppression) -> list[Alert]:
    """The alerts `flow` raises (after it was added to `windows`)."""
    out = []
    history = windows.history(flow.party)
    for rule in rules:
        hit = EVALUATORS[rule.params.typology](rule.params, flow, history)
        if hit is None or not marks.allows(rule, flow.party, hit, flow.at):
            continue
        key = hit.key or f"at:{flow.position}:{flow.leg}"
        marks.mark(rule.code, flow.party, hit.key, flow.at)
        out.append(Alert(alert_id(rule.code, flow.party, key), rule.code, rule.version, rule.typology,
                         flow.party, hit.key, hit.start, flow.at, hit.flows, flow.position, flow.at))
    return out


def partition_of(party: str, partitions: int) -> int:
    """The partition a party's flows belong to: stable across processes and runs (not `hash()`)."""
    return zlib.crc32(party.encode()) % partitions


class Monitor:
    """One worker. `step()` handles one batch read from the outbox; `run()` until it is drained;
    `process(events)` handles events delivered from elsewhere (the NATS relay).

    With `partition=(k, n)` the worker keeps windows and raises alerts only for the parties of
    partition k of n: every rule looks at one party's flows, so n such workers together raise
    exactly the alerts one unpartitioned worker raises.
    """

    def __init__(self, engine: Engine, name: str = CONSUMER, batch: int = 1000,
                 rules: list[Rule] | None = None, crash_after: int | None = None,
                 partition: tuple[int, int] | None = None) -> None:
        self.engine, self.name, self.batch = engine, name, batch
        self._fixed_rules = rules
        self.crash_after = crash_after
        self.partition = partition
        self.seen = 0
        self._loaded = False

    def _load(self) -> None:
        with reading(self.engine) as connection:
            self.offset = consumer_offset(connection, self.name)
            self._use_rules(connection)
            self.windows = Windows(self.horizon)
            mine = monitor_flows.c.consumer == self.name
            newest = connection.execute(select(func.max(monitor_flows.c.at)).where(mine)).scalar() or 0
            rows = connection.execute(select(monitor_flows).where(mine, monitor_flows.c.at >= newest - self.horizon)
                                      .order_by(monitor_flows.c.position, monitor_flows.c.leg)).mappings()
            self.windows.extend(Flow(**{k: v for k, v in r.items() if k != "consumer"}) for r in rows)
            self.marks = Suppression()
            marks = connection.execute(select(monitor_alerts.c.rule_code, monitor_alerts.c.party,
                                              monitor_alerts.c.evidence, monitor_alerts.c.window_end)
                                       .where(monitor_alerts.c.window_end >= newest - self.horizon)
                                       .order_by(monitor_alerts.c.position))
            for code, party, evidence, end in marks:
                self.marks.mark(code, party, json.loads(evidence)["key"], end)
        self._loaded = True

    def _use_rules(self, connection) -> None:  # type: ignore[no-untyped-def]
        rules = self._fixed_rules if self._fixed_rules is not None else current_rules(connection)
        self.rules = [r for r in rules if r.enabled]
        self.horizon = max([DAY + 3600] + [r.window_seconds for r in self.rules]) * SECOND

    def _refresh_rules(self) -> None:
        """Pick up rule versions stored since the last batch (a longer window sees flows from now on)."""
        if self._fixed_rules is None:
            with reading(self.engine) as connection:
                self._use_rules(connection)
            self.windows.horizon = max(self.windows.horizon, self.horizon)

    def handle(self, events: list[Event]) -> tuple[list[Flow], list[Alert]]:
        flows: list[Flow] = []
        alerts: list[Alert] = []
        for event in events:
            for flow in flows_of(event):
                if self.partition is not None and partition_of(flow.party, self.partition[1]) != self.partition[0]:
                    continue
                self.windows.add(flow)
                flows.append(flow)
                if self.rules:
                    alerts.extend(evaluate(self.rules, flow, self.windows, self.marks))
            self.seen += 1
            if self.crash_after is not None and self.seen >= self.crash_after:
                raise MonitorCrash(f"crash after {self.seen} events")
        return flows, alerts

    def step(self) -> tuple[int, int]:
        """(events read, alerts written) for one batch."""
        self._ready()
        events = read_events(self.engine, after=self.offset, limit=self.batch)
        if not events:
            return 0, 0
        return len(events), self._handle_and_commit(events)

    def process(self, events: list[Event]) -> int:
        """Handle events delivered in outbox order by someone else; those at or before the stored
        offset were handled already (a redelivery) and are skipped. Returns alerts written."""
        self._ready()
        fresh = [e for e in events if e.position > self.offset]
        return self._handle_and_commit(fresh) if fresh else 0

    def _ready(self) -> None:
        if not self._loaded:
            self._load()
        else:
            self._refresh_rules()

    def _handle_and_commit(self, events: list[Event]) -> int:
        try:
            flows, alerts = self.handle(events)
            written = transaction(self.engine, lambda uow: self._commit(uow, events[-1].position, flows, alerts),
                                  unique_race_retries=False)  # a flow key taken: another worker has this batch
        except BaseException:
            self._loaded = False  # the in-memory windows ran ahead of the tables: reload them
            raise
        self.offset = events[-1].position
        self.marks.forget_before(self.windows.cutoff())
        return written

    def _commit(self, uow, position: int, flows: list[Flow], alerts: list[Alert]) -> int:  # type: ignore[no-untyped-def]
        if flows:
            uow.execute(monitor_flows.insert(), [{"consumer": self.name, **f.as_row()} for f in flows])
            uow.execute(delete(monitor_flows).where(monitor_flows.c.consumer == self.name,
                                                    monitor_flows.c.at < self.windows.cutoff()))
        written = insert_alerts(uow, alerts)
        advance_offset(uow, self.name, position)
        return written

    def run(self) -> tuple[int, int]:
        """Drain the outbox; (events, alerts)."""
        events = alerts = 0
        while True:
            n, a = self.step()
            if n == 0:
                return events, alerts
            events, alerts = events + n, alerts + a


def run_once(engine: Engine, batch: int = 1000) -> tuple[int, int]:
    return Monitor(engine, batch=batch).run()
