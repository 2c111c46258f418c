"""Batch network analytics over the transfer graph (资金网络分析): cycles (循环转账 / 资金回流) and
gather-scatter hubs (分散转入集中转出 / 过渡账户).

The transfers of the outbox events committed within [start, end) become a directed multigraph of
parties (networkx): one edge payer → payee per transfer, carrying its flow (amount in fen, time,
ref, position). Legs with the bank pseudo-party are not edges. Both detectors are pure functions of
those flows; `run_graph_analytics` reads, detects and writes the alerts in one transaction. Alert
ids come from the rule, the party and the transfers, so running a range twice inserts nothing new.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import takewhile
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine

from puhui.db import transaction
from puhui.events.outbox import read_events
from puhui.regtech.alerts import Alert, alert_id, insert_alerts
from puhui.regtech.errors import RangeInvalid, RuleInvalid
from puhui.regtech.rules import DAY, Money, Window
from puhui.regtech.windows import BANK, Flow, flows_of

SECOND = 1_000_000
CYCLE_RULE, GATHER_RULE, RULE_VERSION = "graph_cycle", "graph_gather_scatter", 1
Ratio = Annotated[Decimal, Field(gt=0, le=1)]


class CycleParams(BaseModel):
    """循环转账: money that comes back to where it started, hop after hop, within a window."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_length: Annotated[int, Field(ge=3, le=8)] = 5
    window_seconds: Window = 3 * DAY
    min_amount: Money = Decimal(10000)
    min_retained: Ratio = Decimal("0.8")


class GatherScatterParams(BaseModel):
    """分散转入集中转出: many payers in, then many payees out, most of the money passing through."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    window_seconds: Window = 3 * DAY
    min_sources: Annotated[int, Field(ge=2, le=10_000)] = 5
    min_sinks: Annotated[int, Field(ge=2, le=10_000)] = 5
    out_ratio: Annotated[Decimal, Field(gt=0, le=10)] = Decimal("0.7")
    min_in: Money = Decimal(20000)


def parse_params(model: type[BaseModel], body: object) -> BaseModel:
    """Validate parameters (a dict, a model or None for the defaults); problems are `rule_invalid`."""
    if body is None:
        return model()
    if isinstance(body, model):
        return body
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuleInvalid(f"{where}: {first['msg']}" if where else first["msg"]) from None


def _fen(amount: Decimal) -> int:
    return int(amount * 100)


def _after(flow: Flow, prev: Flow) -> bool:
    return (flow.at, flow.position) > (prev.at, prev.position)


# --- reading --------------------------------------------------------------------------------------


def transfer_flows(events: Iterable, start: int, end: int) -> list[Flow]:
    """Both legs of every transfer between two parties committed within [start, end), in position order."""
    return [f for e in events if start <= e.created_at < end for f in flows_of(e) if f.counterparty not in (None, BANK)]


def read_flows(engine: Engine, start: int, end: int, page: int = 10_000) -> tuple[int, list[Flow]]:
    """(events read, transfer flows) from the outbox in position order."""
    after, seen, flows = 0, 0, []
    while True:
        events = read_events(engine, after=after, limit=page)
        if not events:
            return seen, flows
        seen += len(events)
        flows.extend(transfer_flows(events, start, end))
        after = events[-1].position


def transfer_graph(flows: Iterable[Flow]):
    """The multigraph payer → payee, one edge per transfer (the payer's `out` leg as its data)."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    graph.add_edges_from((f.party, f.counterparty, {"flow": f}) for f in flows if f.direction == "out")
    return graph


# --- cycles ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleHit:
    hops: tuple[Flow, ...]  # the payers' out legs in time order

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(h.party for h in self.hops)

    @property
    def key(self) -> str:
        return "cycle:" + ",".join(sorted(h.ref for h in self.hops))


def find_cycles(graph, p: CycleParams) -> tuple[int, list[CycleHit]]:
    """(candidate cycles among large transfers, time-respecting cycles found)."""
    import networkx as nx

    floor = _fen(p.min_amount)
    hops: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    for _, _, flow in graph.edges(data="flow"):
        if flow.amount >= floor:
            hops[(flow.party, flow.counterparty)].append(flow)
    for found in hops.values():
        found.sort(key=lambda f: (f.at, f.position))
    large = nx.DiGraph(list(hops))
    candidates, hits = 0, []
    for nodes in nx.simple_cycles(large, length_bound=p.max_length):
        if len(nodes) < 3:
            continue
        candidates += 1
        hits.extend(_instances(nodes, hops, p))
    hits.sort(key=lambda h: (h.hops[0].at, h.hops[0].position))
    return candidates, hits


def _instances(nodes: list[str], hops: dict, p: CycleParams) -> Iterator[CycleHit]:
    """Time-respecting walks round `nodes`, earliest first; no transfer is used twice."""
    k = len(nodes)
    edges = [(nodes[i], nodes[(i + 1) % k]) for i in range(k)]
    starts = sorted(((h, i) for i, e in enumerate(edges) for h in hops[e]), key=lambda s: (s[0].at, s[0].position))
    used: set[tuple[int, int]] = set()
    for first, i in starts:
        if (first.position, first.leg) in used:
            continue
        path = _walk([first], i, edges, hops, used, p)
        if path is not None:
            used.update((h.position, h.leg) for h in path)
            yield CycleHit(tuple(path))


def _walk(path: list[Flow], i: int, edges: list, hops: dict, used: set, p: CycleParams) -> list[Flow] | None:
    """Earliest arrival is best for every later hop, so each hop is the earliest that fits; the last
    must also bring back at least `min_retained` of the first."""
    first = path[0]
    deadline = first.at + p.window_seconds * SECOND
    retained = first.amount * int(p.min_retained * 1_000_000)
    for step in range(1, len(edges)):
        last = step == len(edges) - 1
        prev = path[-1]
        hop = next(
            (
                h
                for h in hops[edges[(i + step) % len(edges)]]
                if h.at < deadline
                and _after(h, prev)
                and (h.position, h.leg) not in used
                and (not last or h.amount * 1_000_000 >= retained)
            ),
            None,
        )
        if hop is None:
            return None
        path.append(hop)
    return path


# --- gather-scatter -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatherHit:
    party: str
    ins: tuple[Flow, ...]
    outs: tuple[Flow, ...]

    @property
    def key(self) -> str:
        return f"gather:{self.ins[0].ref}"


def find_gather_scatter(flows: Iterable[Flow], p: GatherScatterParams) -> list[GatherHit]:
    """Parties that, within a window from one inflow, got money from ≥ min_sources payers and then
    sent ≥ out_ratio of it to ≥ min_sinks payees; one hit per window (the next starts after it)."""
    by_party: dict[str, list[Flow]] = defaultdict(list)
    for f in flows:
        by_party[f.party].append(f)
    hits = []
    for party, mine in by_party.items():
        if (
            len({f.counterparty for f in mine if f.direction == "in"}) >= p.min_sources
            and len({f.counterparty for f in mine if f.direction == "out"}) >= p.min_sinks
        ):
            hits.extend(_hub_windows(party, sorted(mine, key=lambda f: (f.at, f.position)), p))
    return hits


def _hub_windows(party: str, mine: list[Flow], p: GatherScatterParams) -> Iterator[GatherHit]:
    span, floor, ratio = p.window_seconds * SECOND, _fen(p.min_in), int(p.out_ratio * 1_000_000)
    resume: Flow | None = None
    for i, anchor in enumerate(mine):
        if anchor.direction != "in" or (resume is not None and not _after(anchor, resume)):
            continue
        window = list(takewhile(lambda f, until=anchor.at + span: f.at < until, mine[i:]))
        ins = [f for f in window if f.direction == "in"]
        outs = [f for f in window if f.direction == "out"]
        total_in = sum(f.amount for f in ins)
        if (
            total_in >= floor
            and len({f.counterparty for f in ins}) >= p.min_sources
            and len({f.counterparty for f in outs}) >= p.min_sinks
            and sum(f.amount for f in outs) * 1_000_000 >= total_in * ratio
        ):
            resume = window[-1]
            yield GatherHit(party, tuple(ins), tuple(outs))


# --- alerts and the service -----------------------------------------------------------------------


def _alert(rule: str, typology: str, party: str, key: str, flows: tuple[Flow, ...]) -> Alert:
    last = max(flows, key=lambda f: (f.at, f.position))
    return Alert(
        alert_id(rule, party, key),
        rule,
        RULE_VERSION,
        typology,
        party,
        key,
        min(f.at for f in flows),
        last.at,
        flows,
        last.position,
        last.at,
    )


def cycle_alerts(hits: Iterable[CycleHit]) -> list[Alert]:
    """One alert for every party on each cycle, all with the cycle's key and hops."""
    return [
        _alert(CYCLE_RULE, "cycle", party, hit.key, hit.hops) for hit in hits for party in dict.fromkeys(hit.parties)
    ]


def gather_alerts(hits: Iterable[GatherHit]) -> list[Alert]:
    return [_alert(GATHER_RULE, "gather_scatter", h.party, h.key, h.ins + h.outs) for h in hits]


def run_graph_analytics(
    engine: Engine, start_micros: int, end_micros: int, cycle: object = None, gather_scatter: object = None
) -> dict:
    """Read the transfers of [start, end), detect cycles and gather-scatter hubs, store the alerts
    (one transaction; a re-run of the same range writes nothing). Counts and seconds."""
    cycle_p = parse_params(CycleParams, cycle)
    gather_p = parse_params(GatherScatterParams, gather_scatter)
    if not 0 <= start_micros < end_micros:
        raise RangeInvalid("the range needs 0 <= start < end")
    began = time.perf_counter()
    events, flows = read_flows(engine, start_micros, end_micros)
    read_s = time.perf_counter()
    graph = transfer_graph(flows)
    candidates, cycles = find_cycles(graph, cycle_p)
    hubs = find_gather_scatter(flows, gather_p)
    alerts = cycle_alerts(cycles) + gather_alerts(hubs)
    detect_s = time.perf_counter()
    written = transaction(
        engine, lambda uow: sum(insert_alerts(uow, alerts[i : i + 5000]) for i in range(0, len(alerts), 5000))
    )
    done = time.perf_counter()
    return {
        "events": events,
        "transfers": graph.number_of_edges(),
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "candidate_cycles": candidates,
        "cycles": len(cycles),
        "gather_scatter": len(hubs),
        "alerts": len(alerts),
        "written": written,
        "seconds": {
            "read": round(read_s - began, 3),
            "detect": round(detect_s - read_s, 3),
            "write": round(done - detect_s, 3),
            "total": round(done - began, 3),
        },
    }
