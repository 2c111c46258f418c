"""Network analytics over the transfer graph (资金网络分析) on SQLite and PostgreSQL: cycles and a
gather-scatter hub made through the real payment services are found and alerted on every member;
what falls short is not; a re-run inserts nothing; bad parameters change nothing; the books audit."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from itertools import permutations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from stdnum.cn import ric
from typer.testing import CliRunner

from puhui import clock as clock_module
from puhui.db import reading
from puhui.identity import customers as customer_ops
from puhui.identity import kyc
from puhui.ledger.audit import audit
from puhui.payments.bank.channel import OrderKind
from puhui.regtech import graph as G
from puhui.regtech.errors import RuleInvalid
from puhui.regtech.graph_cli import app as graph_app
from puhui.regtech.tables import monitor_alerts
from puhui.regtech.windows import Flow
from tests.risk.test_features_profiles import ADMIN, CHANNELS, VAULT, World

CNY = 100
DIGITS = "零一二三四五六七八九"


class Net(World):
    """World with as many verified customers as a test needs (one password hash for all)."""

    _template: customer_ops.Registration | None = None

    def customer(self, verified: bool = True) -> str:
        n = len(self.customers)
        if Net._template is None:
            Net._template = customer_ops.prepare_registration(
                name="周", id_number=_id(0), phone="13900000000", password="correct horse battery"
            )
        data = dataclasses.replace(
            Net._template,
            name="客户" + "".join(DIGITS[int(d)] for d in str(n)),
            id_number=_id(n),
            phone=f"1390000{n:04d}",
        )
        cid = self.run(lambda uow: customer_ops.register(uow, VAULT, data))
        for channel in CHANNELS:
            self.run(lambda uow, c=channel: kyc.record_verification(uow, cid, c, f"R-{cid}-{c}", True, ADMIN))
        self.run(lambda uow: kyc.upgrade_tier(uow, cid, ADMIN, "verified"))
        self.bank(cid, OrderKind.debit_card, 80_000 * CNY)
        self.customers.append(cid)
        return cid

    def people(self, n: int) -> list[str]:
        return [self.customer() for _ in range(n)]

    def hop(self, payer: str, payee: str, cny: int, hours: float = 2) -> None:
        self.later(hours=hours)
        self.p2p(payer, payee, cny * CNY)


def _id(n: int) -> str:
    body = f"1101051990{n // 28 + 1:02d}{n % 28 + 1:02d}{n % 900 + 100:03d}"
    return body + ric.calc_check_digit(body + "0")


def since(w: Net) -> int:
    return clock_module.now_micros() - 1


def run(engine, start: int, **params) -> dict:  # type: ignore[no-untyped-def]
    return G.run_graph_analytics(engine, start, clock_module.now_micros() + 1, **params)


def alerted(engine, rule: str) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    """party → the keys alerted on it by `rule`."""
    with reading(engine) as connection:
        rows = connection.execute(select(monitor_alerts).where(monitor_alerts.c.rule_code == rule)).mappings().all()
    out: dict[str, set[str]] = {}
    for r in rows:
        assert r["typology"] == {"graph_cycle": "cycle", "graph_gather_scatter": "gather_scatter"}[rule]
        assert r["rule_version"] == 1
        out.setdefault(r["party"], set()).add(json.loads(r["evidence"])["key"])
    return out


def alert_count(engine) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(monitor_alerts)).scalar_one()


def test_cycles_alert_every_member_and_nothing_else(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = Net(engine, clock)
    a, b, c, d, e, f, g = w.people(7)
    back, shrink, chain = w.people(3), w.people(3), w.people(3)
    start = since(w)
    w.hop(a, b, 20_000)
    w.hop(b, c, 19_800)
    w.hop(c, a, 19_500)  # 3 hops, 97.5% retained
    for payer, payee, cny in ((d, e, 30_000), (e, f, 29_500), (f, g, 29_000), (g, d, 28_600)):
        w.hop(payer, payee, cny, hours=9)  # 4 hops over 36 hours
    for payer, payee in ((back[2], back[0]), (back[1], back[2]), (back[0], back[1])):
        w.hop(payer, payee, 20_000)  # a closed ring, but each hop before the one it should follow
    for payer, payee, cny in (
        (shrink[0], shrink[1], 20_000),
        (shrink[1], shrink[2], 15_000),
        (shrink[2], shrink[0], 12_000),
    ):
        w.hop(payer, payee, cny)  # 60% comes back: below min_retained
    w.hop(chain[0], chain[1], 20_000)
    w.hop(chain[1], chain[2], 19_900)  # no return
    w.hop(a, d, 50)
    w.hop(e, b, 60)  # small ordinary traffic between the rings
    counts = run(engine, start)
    assert counts["cycles"] == 2 and counts["written"] == 7
    assert counts["nodes"] == 16 and counts["edges"] == 17
    found = alerted(engine, "graph_cycle")
    assert set(found) == {a, b, c, d, e, f, g}
    assert found[a] == found[b] == found[c] and found[d] == found[e] == found[f] == found[g] and found[a] != found[d]
    with reading(engine) as connection:
        evidence = json.loads(
            connection.execute(select(monitor_alerts.c.evidence).where(monitor_alerts.c.party == d)).scalar_one()
        )
        assert [h["amount"] for h in evidence["flows"]] == [3_000_000, 2_950_000, 2_900_000, 2_860_000]
        assert audit(connection).ok
    again = run(engine, start - 3600 * 10**6)  # the same range, and a wider one: the same alerts
    assert again["written"] == 0 and again["cycles"] == 2 and alert_count(engine) == 7


def test_window_and_thresholds_are_parameters(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = Net(engine, clock)
    a, b, c = w.people(3)
    start = since(w)
    w.hop(a, b, 20_000)
    w.hop(b, c, 19_800)
    w.hop(c, a, 19_500, hours=24 * 3)  # back after three days: outside the default window
    assert run(engine, start)["cycles"] == 0
    assert run(engine, start, cycle={"window_seconds": 4 * 86_400, "max_length": 3})["cycles"] == 1
    assert run(engine, start, cycle={"window_seconds": 4 * 86_400, "min_amount": "19600"})["cycles"] == 0
    assert set(alerted(engine, "graph_cycle")) == {a, b, c}


def test_gather_scatter_hub_is_found_and_an_inflow_only_hub_is_not(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = Net(engine, clock)
    hub, sink_only = w.people(2)
    sources, sinks = w.people(6), w.people(6)
    start = since(w)
    for i, source in enumerate(sources):
        w.hop(source, hub, 8_000 + 700 * i, hours=7)  # 58,500 over ~2 days
        w.hop(source, sink_only, 9_000, hours=0.5)
    for sink in sinks:
        w.hop(hub, sink, 8_500, hours=3)  # 51,000 out: 87%
    counts = run(engine, start)
    assert counts["gather_scatter"] == 1 and counts["cycles"] == 0
    assert set(alerted(engine, "graph_gather_scatter")) == {hub}
    with reading(engine) as connection:
        evidence = json.loads(connection.execute(select(monitor_alerts.c.evidence)).scalar_one())
        assert audit(connection).ok
    assert [x["direction"] for x in evidence["flows"]] == ["in"] * 6 + ["out"] * 6
    assert {x["counterparty"] for x in evidence["flows"]} == set(sources + sinks)
    assert run(engine, start)["written"] == 0 and alert_count(engine) == 1
    assert run(engine, start, gather_scatter={"min_sinks": 7})["gather_scatter"] == 0
    assert run(engine, start, gather_scatter={"out_ratio": "0.9", "min_sources": 6})["gather_scatter"] == 0
    assert run(engine, start, gather_scatter={"out_ratio": "0.85", "min_sources": 6})["gather_scatter"] == 1


BAD = [
    ({"cycle": {"max_length": 2}}, "max_length"),
    ({"cycle": {"window_seconds": -1}}, "window_seconds"),
    ({"cycle": {"min_retained": "1.5"}}, "min_retained"),
    ({"cycle": {"colour": "red"}}, "colour"),
    ({"cycle": {"min_amount": "-5"}}, "min_amount"),
    ({"gather_scatter": {"min_sources": 1}}, "min_sources"),
    ({"gather_scatter": {"out_ratio": "0"}}, "out_ratio"),
    ({"gather_scatter": "many"}, ""),
]


def test_bad_parameters_are_refused_and_change_nothing(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = Net(engine, clock)
    a, b, c = w.people(3)
    start = since(w)
    for payer, payee in ((a, b), (b, c), (c, a)):
        w.hop(payer, payee, 20_000)
    for params, where in BAD:
        with pytest.raises(RuleInvalid) as refused:
            run(engine, start, **params)
        assert refused.value.code == "rule_invalid" and where in str(refused.value)
    with pytest.raises(G.RangeInvalid):
        G.run_graph_analytics(engine, clock_module.now_micros(), start)
    assert alert_count(engine) == 0
    url = engine.url.render_as_string(hide_password=False)
    today = clock_module.business_date().isoformat()
    refused_cli = CliRunner().invoke(
        graph_app, ["graph", "--from", today, "--to", today, "--db", url, "--cycle", '{"max_length": 9}']
    )
    assert refused_cli.exit_code == 2 and refused_cli.output.startswith("rule_invalid: ")
    assert CliRunner().invoke(graph_app, ["graph", "--from", "2026-13-01", "--to", today, "--db", url]).exit_code == 2
    assert alert_count(engine) == 0
    done = CliRunner().invoke(graph_app, ["graph", "--from", today, "--to", today, "--db", url])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["written"] == 3 and alert_count(engine) == 3


# --- invariants of the pure detectors --------------------------------------------------------------

PARTIES = ["p0", "p1", "p2", "p3", "p4"]
HOUR = 3600 * 10**6


@st.composite
def transfers(draw) -> list[Flow]:  # type: ignore[no-untyped-def]
    n = draw(st.integers(0, 11))
    out = []
    for i in range(n):
        payer, payee = draw(st.permutations(PARTIES))[:2]
        fen = draw(st.sampled_from([500_00, 10_000_00, 12_000_00, 15_000_00, 20_000_00]))
        at = draw(st.integers(0, 100)) * HOUR
        out.append(Flow(i + 1, 0, payer, payee, "out", fen, "transfer", "natural", False, at, f"r{i}"))
        out.append(Flow(i + 1, 1, payee, payer, "in", fen, "transfer", "natural", False, at, f"r{i}"))
    return out


def _canonical(parties: tuple[str, ...]) -> tuple[str, ...]:
    k = parties.index(min(parties))
    return parties[k:] + parties[:k]


def _brute_cycles(flows: list[Flow], p: G.CycleParams) -> set[tuple[str, ...]]:
    """The node cycles with at least one valid walk, by trying every sequence of transfers."""
    outs = [f for f in flows if f.direction == "out" and f.amount >= p.min_amount * 100]
    found = set()
    for k in range(3, p.max_length + 1):
        for walk in permutations(outs, k):
            parties = [h.party for h in walk]
            if (
                len(set(parties)) == k
                and all(walk[i].counterparty == walk[(i + 1) % k].party for i in range(k))
                and all((walk[i + 1].at, walk[i + 1].position) > (walk[i].at, walk[i].position) for i in range(k - 1))
                and walk[-1].at < walk[0].at + p.window_seconds * 10**6
                and walk[-1].amount >= walk[0].amount * p.min_retained
            ):
                found.add(_canonical(tuple(parties)))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows=transfers(), window_hours=st.integers(1, 100))
def test_cycles_found_are_exactly_the_valid_ones(flows: list[Flow], window_hours: int) -> None:
    p = G.CycleParams(max_length=4, window_seconds=window_hours * 3600, min_amount=Decimal(10000))
    _, hits = G.find_cycles(G.transfer_graph(flows), p)
    given_outs = {(f.position, f.leg): f for f in flows if f.direction == "out"}
    for hit in hits:
        k = len(hit.hops)
        assert 3 <= k <= 4 and len(set(hit.parties)) == k
        assert all(given_outs[(h.position, h.leg)] == h for h in hit.hops)
        assert all(hit.hops[i].counterparty == hit.hops[(i + 1) % k].party for i in range(k))
        assert all((b.at, b.position) > (a.at, a.position) for a, b in zip(hit.hops, hit.hops[1:], strict=False))
        assert hit.hops[-1].at - hit.hops[0].at < p.window_seconds * 10**6
        assert hit.hops[-1].amount >= hit.hops[0].amount * p.min_retained
    used = [(_canonical(hit.parties), h.position) for hit in hits for h in hit.hops]
    assert len(used) == len(set(used))  # no transfer twice round the same ring
    assert {_canonical(h.parties) for h in hits} == _brute_cycles(flows, p)


@settings(max_examples=100, deadline=None)
@given(flows=transfers(), sources=st.integers(2, 3), sinks=st.integers(2, 3))
def test_gather_scatter_hits_meet_every_threshold(flows: list[Flow], sources: int, sinks: int) -> None:
    p = G.GatherScatterParams(min_sources=sources, min_sinks=sinks, min_in=Decimal(1000), window_seconds=50 * 3600)
    for hit in G.find_gather_scatter(flows, p):
        assert all(f.party == hit.party for f in hit.ins + hit.outs)
        assert len({f.counterparty for f in hit.ins}) >= sources and len({f.counterparty for f in hit.outs}) >= sinks
        assert sum(f.amount for f in hit.outs) >= sum(f.amount for f in hit.ins) * p.out_ratio
        times = [f.at for f in hit.ins + hit.outs]
        assert min(times) == hit.ins[0].at and max(times) - min(times) < p.window_seconds * 10**6
