"""The monitor (实时资金监测): reads the outbox in order from its stored offset, keeps each party's
flows in sliding windows, evaluates every rule in force and writes alerts with their evidence.

Exactly-once in effect: the flows (the window state), the alerts and the offset of a batch commit
in one transaction; after a crash a new monitor reloads the windows from `monitor_flows` and the
suppression marks from `monitor_alerts`, so re-reading the uncommitted events yields the same
alerts, with the same ids, as a run that never stopped.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import zlib

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from puhui.db import UnitOfWork, reading, transaction
from puhui.db.tables import outbox
from puhui.events.outbox import Event, advance_offset, consumer_offset, number_waiting
from puhui.identity.queries import party_types
from puhui.regtech.alerts import Alert, insert_alerts
from puhui.regtech.chains import Chains
from puhui.regtech.evaluators import (
    SECOND,
    Context,
    PartyState,
    RuleSet,
    Suppression,
    evaluate,
)
from puhui.regtech.rules import DAY, Rule, current_rules
from puhui.regtech.tables import (
    monitor_alerts,
    monitor_flows,
    monitor_parties,
    related_parties,
)
from puhui.regtech.windows import FLOW_TYPES, LEGACY_KINDS, Flow, Windows, bank_order_parties, flows_of

CONSUMER = "regtech.monitor"


_UNREAD: dict = {}  # the payload of an event that moves nobody's money: never decoded, never looked at


def read_flow_events(engine: Engine, after: int, limit: int) -> list[Event]:
    """The outbox after `after` in order, as `read_events` reads it, but only the payloads of events
    that can move a party's value are decoded (the monitor looks at no other)."""
    number_waiting(engine)
    columns = (outbox.c.position, outbox.c.topic, outbox.c.type, outbox.c.key, outbox.c.payload, outbox.c.created_at)
    query = select(*columns).where(outbox.c.position > after).order_by(outbox.c.position).limit(limit)
    with reading(engine) as connection:
        rows = connection.execute(query).all()
    loads, wanted = json.loads, FLOW_TYPES
    return [
        Event(position, topic, kind, key, loads(payload) if kind in wanted else _UNREAD, at)
        for position, topic, kind, key, payload, at in rows
    ]


class MonitorCrash(RuntimeError):
    """Raised on purpose by tests (`crash_after`) to prove a restart changes nothing."""


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

    def __init__(
        self,
        engine: Engine,
        name: str = CONSUMER,
        batch: int = 1000,
        rules: list[Rule] | None = None,
        crash_after: int | None = None,
        partition: tuple[int, int] | None = None,
    ) -> None:
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
            rows = connection.execute(
                select(monitor_flows)
                .where(mine, monitor_flows.c.at >= newest - self.horizon)
                .order_by(monitor_flows.c.position, monitor_flows.c.leg)
            ).mappings()
            self.windows.extend(
                Flow(
                    **{k: v for k, v in r.items() if k not in ("consumer", "counterparty_kind")},
                    counterparty_kind=LEGACY_KINDS.get(r["counterparty_kind"] or "natural", r["counterparty_kind"]),
                )
                for r in rows
            )
            self.chains = self._chains()
            if self.chains is not None:  # the same chains as a monitor that never stopped, from the same flows
                for flow in sorted((f for _, fs in self.windows.parties() for f in fs), key=_order):
                    self.chains.see(flow)
                self.chains.end_event()
            self.marks = Suppression()
            marks = connection.execute(
                select(
                    monitor_alerts.c.rule_code,
                    monitor_alerts.c.party,
                    monitor_alerts.c.evidence,
                    monitor_alerts.c.window_end,
                )
                .where(monitor_alerts.c.window_end >= newest - self.horizon)
                .order_by(monitor_alerts.c.position)
            )
            for code, party, evidence, end in marks:
                self.marks.mark(code, party, json.loads(evidence)["key"], end)
            self.parties = {
                r.party: PartyState(r.last_at, r.woke_at, r.dormant_for)
                for r in connection.execute(select(monitor_parties).where(monitor_parties.c.consumer == self.name))
            }
        self.woken: set[str] = set()
        self.memo: dict = {}
        self.unsaved: dict[str, int] = {}
        self.leaving: list[tuple[int, str]] = []  # (last flow, party), at most one per party in `queued`
        self.queued: set[str] = set()
        self.touched: set[str] = set()
        for party, flows in self.windows.parties():  # in the window: the last flow is the newest one there
            saved = self.parties.get(party, PartyState(0))
            self.parties[party] = PartyState(max(f.at for f in flows), saved.woke_at, saved.dormant_for)
            self.unsaved[party] = self.parties[party].last_at
            self.touched.add(party)
        self._loaded = True

    def _chains(self) -> Chains | None:
        """Chains cross parties: followed only by a worker that sees every party."""
        unpartitioned = self.partition is None or self.partition[1] == 1
        return Chains(self.ruleset.chain) if self.ruleset.chain is not None and unpartitioned else None

    def _use_rules(self, connection) -> None:
        rules = self._fixed_rules if self._fixed_rules is not None else current_rules(connection)
        self.rules = [r for r in rules if r.enabled]
        self.ruleset = RuleSet.of(self.rules)
        self.horizon = max([DAY + 3600] + [r.window_seconds for r in self.rules]) * SECOND
        gaps = [r.params.dormant_days * DAY * SECOND for r in self.rules if r.typology == "dormant"]
        self.wake_gap = min(gaps) if gaps else None
        self.related = related_of(connection)

    def _refresh_rules(self) -> None:
        """Pick up rule versions stored since the last batch (a longer window sees flows from now on)."""
        with reading(self.engine) as connection:
            if self._fixed_rules is None:
                self._use_rules(connection)
                self.windows.horizon = max(self.windows.horizon, self.horizon)
                if self.chains is None or self.ruleset.chain is None:
                    self.chains = self._chains()
                else:
                    self.chains.use(self.ruleset.chain)
            else:
                self.related = related_of(connection)

    def handle(self, events: list[Event]) -> tuple[list[Flow], list[Alert]]:
        flows: list[Flow] = []
        alerts: list[Alert] = []
        windows, ruleset, chains, marks, related, memo = (
            self.windows,
            self.ruleset,
            self.chains,
            self.marks,
            self.related,
            self.memo,
        )
        judged, part, advance = bool(self.rules), self.partition, self._advance
        kinds = self._party_kinds(events)
        for event in events:
            for flow in flows_of(event, kinds):
                if part is not None and partition_of(flow.party, part[1]) != part[0]:
                    continue
                windows.add(flow)
                flows.append(flow)
                state = advance(flow)
                if judged and (raised := evaluate(ruleset, Context(flow, windows, state, related, memo), marks)):
                    alerts.extend(raised)
                if chains is not None and (chain := chains.see(flow)) is not None:
                    alerts.append(chain)
            if chains is not None:
                chains.end_event()
            self.seen += 1
            if self.crash_after is not None and self.seen >= self.crash_after:
                raise MonitorCrash(f"crash after {self.seen} events")
        return flows, alerts

    def _party_kinds(self, events: list[Event]) -> dict[str, str]:
        """natural / non_natural for the parties of the batch's bank orders (a merchant's settlement payout
        or top-up is a non-natural party's), classified as the large-value report classifies them."""
        part = self.partition
        wanted = {p for p in bank_order_parties(events) if part is None or partition_of(p, part[1]) == part[0]}
        if not wanted:
            return {}
        with reading(self.engine) as connection:
            return party_types(connection, wanted)

    def step(self) -> tuple[int, int]:
        """(events read, alerts written) for one batch."""
        self._ready()
        events = read_flow_events(self.engine, after=self.offset, limit=self.batch)
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
            parties = self._parties_to_save()
            written = transaction(
                self.engine,
                lambda uow: self._commit(uow, events[-1].position, flows, alerts, parties),
                unique_race_retries=False,
            )  # a flow key taken: another worker has this batch
        except BaseException:
            self._loaded = False  # the in-memory windows ran ahead of the tables: reload them
            raise
        self.offset = events[-1].position
        for row in parties:
            if self.unsaved.get(row["party"]) == row["last_at"]:
                del self.unsaved[row["party"]]
        self.woken = set()
        self.marks.forget_before(self.windows.cutoff())
        if self.chains is not None:
            self.chains.forget_before(self.windows.cutoff())
        return written

    def _commit(self, uow, position: int, flows: list[Flow], alerts: list[Alert], parties: list[dict]) -> int:
        if flows:
            insert_flows(uow, self.name, flows)
            uow.execute(
                delete(monitor_flows).where(
                    monitor_flows.c.consumer == self.name, monitor_flows.c.at < self.windows.cutoff()
                )
            )
        if parties:
            save_parties(uow, parties)
        written = insert_alerts(uow, alerts)
        advance_offset(uow, self.name, position)
        return written

    def _advance(self, flow: Flow) -> PartyState:
        party = flow.party
        before = self.parties.get(party)
        state = before.after(flow.at, self.wake_gap) if before is not None else PartyState(flow.at)
        self.parties[party] = state
        if state.woke_at == flow.at and state.dormant_for:
            self.woken.add(party)
        self.unsaved[party] = state.last_at
        self.touched.add(party)  # onto the heap once, not once per flow
        return state

    def _parties_to_save(self) -> list[dict]:
        """The parties' states the tables must hold after this batch: those that just woke (the window
        state cannot tell how long they slept) and those whose last flow leaves the window now."""
        cutoff, due, leaving = self.windows.cutoff(), set(self.woken), self.leaving
        for party in self.touched - self.queued:
            heapq.heappush(leaving, (self.unsaved[party], party))
        self.queued |= self.touched
        self.touched = set()
        while leaving and leaving[0][0] < cutoff:
            at, party = heapq.heappop(leaving)
            last = self.unsaved.get(party)
            if last is not None and last != at:
                heapq.heappush(leaving, (last, party))  # it moved on since it was queued: due later
                continue
            self.queued.discard(party)
            if last == at:
                due.add(party)
        return [
            {
                "consumer": self.name,
                "party": party,
                "last_at": state.last_at,
                "woke_at": state.woke_at,
                "dormant_for": state.dormant_for,
            }
            for party in sorted(due)
            for state in (self.parties[party],)
        ]

    def run(self) -> tuple[int, int]:
        """Drain the outbox as it stands; (events, alerts). A batch short of full reached its end: what
        commits meanwhile waits for the next run, so that under a steady stream of payments the monitor
        does one batch an interval instead of one for every few events (each with its own write)."""
        events = alerts = 0
        while True:
            n, a = self.step()
            events, alerts = events + n, alerts + a
            if n < self.batch:
                return events, alerts


def _order(flow: Flow) -> tuple[int, int]:
    return flow.position, flow.leg


_FLOW_COLUMNS = (
    "consumer",
    "position",
    "leg",
    "party",
    "counterparty",
    "direction",
    "amount",
    "channel",
    "party_kind",
    "cross_border",
    "at",
    "ref",
    "counterparty_kind",
    "purpose",
)


def insert_flows(uow: UnitOfWork, consumer: str, flows: list[Flow]) -> None:
    """The window state, straight through the driver (COPY on PostgreSQL): the monitor's hottest write."""
    columns = ", ".join(f'"{c}"' for c in _FLOW_COLUMNS)
    rows = [(consumer, *f) for f in flows]  # a flow's fields are the columns after the consumer, in order
    if uow.postgres:
        with (
            uow.connection.connection.cursor() as cursor,
            cursor.copy(f"COPY monitor_flows ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    for i in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[i : i + _ROWS_PER_INSERT]
        uow.connection.exec_driver_sql(_multi_row_insert(len(chunk)), tuple(itertools.chain.from_iterable(chunk)))


assert Flow._fields == _FLOW_COLUMNS[1:]
_ROWS_PER_INSERT = 999 // len(_FLOW_COLUMNS)  # within SQLite's oldest limit of 999 parameters a statement


@functools.lru_cache(maxsize=8)
def _multi_row_insert(rows: int) -> str:
    """One INSERT of many rows: a third cheaper per row on SQLite than executemany's row at a time."""
    columns = ", ".join(f'"{c}"' for c in _FLOW_COLUMNS)
    one = "(" + ", ".join(["?"] * len(_FLOW_COLUMNS)) + ")"
    return f"INSERT INTO monitor_flows ({columns}) VALUES " + ", ".join([one] * rows)


def save_parties(uow: UnitOfWork, rows: list[dict]) -> None:
    insert = (postgresql.insert if uow.postgres else sqlite.insert)(monitor_parties)
    uow.execute(
        insert.on_conflict_do_update(
            index_elements=[monitor_parties.c.consumer, monitor_parties.c.party],
            set_={
                "last_at": insert.excluded.last_at,
                "woke_at": insert.excluded.woke_at,
                "dormant_for": insert.excluded.dormant_for,
            },
        ),
        rows,
    )


def related_of(connection) -> dict[str, frozenset[str]]:
    """Each related party (关联方) → the lenders it is related to."""
    out: dict[str, set[str]] = {}
    for lender, party in connection.execute(select(related_parties.c.lender, related_parties.c.party)):
        out.setdefault(party, set()).add(lender)
    return {party: frozenset(lenders) for party, lenders in out.items()}


def run_once(engine: Engine, batch: int = 1000) -> tuple[int, int]:
    return Monitor(engine, batch=batch).run()
