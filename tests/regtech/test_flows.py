"""One flow model over every product, chains, spread fan-in and honest look-alikes, on SQLite and
PostgreSQL: events of each product reach the monitor's windows with their channel and counterparty
kind; money parked in the fund and paid on by fast redemption (real services) is in-and-out; a chain
shaving a few per cent per hop raises one alert naming every account, also across a restart; fan-in
spread over days and passed on is caught while wedding gifts, group buying and payroll are not."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.events.outbox import publish
from puhui.ledger.audit import audit
from puhui.regtech.alerts import list_alerts
from puhui.regtech.monitor import Monitor, MonitorCrash
from puhui.regtech.tables import monitor_flows
from puhui.wealth.mmf import eod
from puhui.wealth.mmf.manager import SimulatedManager
from tests.regtech.streams import Stream, _chain, alerts_of, forget_monitor, pairs
from tests.wealth.mmf_world import World, at, over


def _event(s: Stream, topic: str, kind: str, key: str, body: dict) -> None:
    transaction(s.engine, lambda uow: publish(uow, topic, kind, key, body))


def _every_product(s: Stream) -> None:
    """One event of each product for cus_x, in the payload shapes its service publishes."""
    s.at_china(0, 10)
    s.bank("cus_x", "debit_card", "5000.00")
    s.p2p("cus_y", "cus_x", "300.00")
    s.qr("cus_x", "mer_1", "20.00")
    order = {"fund_code": "PH0001", "units": "1000.00", "status": "pending"}  # the customer is the event's key
    _event(s, "wealth", "mmf.subscribe", "cus_x", {**order, "id": "mmf_1", "kind": "subscribe", "amount": "1000.00"})
    _event(s, "wealth", "mmf.fast_redeem", "cus_x", {**order, "id": "mmf_2", "kind": "fast_redeem", "amount": "400.00"})
    fund = {"fund_code": "F1", "units": "0.00", "fee": "0.00", "status": "pending"}
    _event(s, "wealth", "fund.purchase", "cus_x", {**fund, "id": "fo_1", "kind": "purchase", "amount": "800.00"})
    _event(s, "wealth", "fund.redeem", "cus_x", {**fund, "id": "fo_2", "kind": "redeem", "amount": "0.00"})
    s.loan("cus_x", "3000.00")
    repaid = {"id": "rp_1", "loan_id": "ln_x", "customer_id": "cus_x", "kind": "scheduled", "amount": "550.00"}
    _event(s, "lending", "lending.repayment_received", "ln_x", repaid)
    policy = {"policy_id": "pol_1", "customer_id": "cus_x", "premium": "120.00"}
    _event(s, "insurance", "insurance.policy_bought", "pol_1", policy)
    claim = {"claim_id": "clm_1", "customer_id": "cus_x", "benefit": "900.00"}
    _event(s, "insurance", "insurance.claim_paid", "clm_1", claim)
    moved = {"customer_id": "cus_x", "direction": "in", "amount": "700.00"}
    _event(s, "securities", "securities.cash_transferred", "secx_1", moved)
    s.bank("cus_x", "credit_card", "100.00")


def test_every_product_reaches_the_monitor_as_flows(engine, clock) -> None:  # type: ignore[no-untyped-def]
    _every_product(Stream(engine, clock))
    Monitor(engine).run()
    with reading(engine) as connection:
        rows = connection.execute(
            select(monitor_flows).where(monitor_flows.c.party == "cus_x").order_by(monitor_flows.c.position)
        ).mappings()
        seen = [(r["direction"], r["amount"], r["channel"], r["counterparty_kind"]) for r in rows]
    assert seen == [
        ("in", 500_000, "transfer", "own_card"),
        ("in", 30_000, "transfer", "person"),
        ("out", 2_000, "transfer", "merchant"),
        ("out", 100_000, "mmf", "own_product"),
        ("in", 40_000, "mmf", "own_product"),
        ("out", 80_000, "fund", "own_product"),  # a redemption of units is valued in cash later: no flow yet
        ("in", 300_000, "loan", "lender"),
        ("out", 55_000, "loan", "lender"),
        ("out", 12_000, "policy", "own_product"),
        ("in", 90_000, "policy", "own_product"),
        ("out", 70_000, "broker", "own_product"),
        ("out", 10_000, "transfer", "own_card"),
    ]
    assert alerts_of(engine) == []  # one's own money moving between one's own products alerts nothing


def test_money_parked_in_the_fund_and_paid_on_is_in_and_out(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Through the real services: 12,000 from another person goes into the fund within the hour; two
    days later a fast redemption of 10,000 is paid on to a third person. The fund in between does not
    make it the mule's own money. A saver doing the same with money from its own card raises nothing."""
    w = World(engine, clock)
    clock.set(at("2026-01-05", "09:30"))  # Monday
    boss, mule, sink, saver, friend = (w.customer() for _ in range(5))
    w.top_up(boss, 20_000_00)
    w.top_up(saver, 12_000_00)
    w.run(lambda uow: __import__("puhui.payments.service", fromlist=["x"]).pay_p2p(uow, boss, mule, 12_000_00, "p1"))
    clock.set(at("2026-01-05", "10:10"))
    w.subscribe(mule, 12_000_00)
    w.subscribe(saver, 12_000_00)
    for day in ("2026-01-05", "2026-01-06"):
        clock.set(over(day))  # the day is over: its end of day runs
        eod.run_eod(engine, dt.date.fromisoformat(day), SimulatedManager())
    clock.set(at("2026-01-07", "10:00"))
    for who, payee in ((mule, sink), (saver, friend)):
        w.redeem(who, 10_000_00, fast=True)
        w.run(lambda uow, a=who, b=payee: _pay(uow, a, b, 10_000_00))
    Monitor(engine).run()
    found = [(a["rule_code"], a["party"], json.loads(a["evidence"])["key"]) for a in alerts_of(engine)]
    assert [(rule, party) for rule, party, _ in found if rule == "rapid_in_out"] == [("rapid_in_out", mule)]
    assert all(party != saver for _, party, _ in found)
    assert w.audit_ok()


def _pay(uow, payer: str, payee: str, fen: int) -> None:  # type: ignore[no-untyped-def]
    from puhui.payments import service

    service.pay_p2p(uow, payer, payee, fen, f"{payer}-{payee}")


def _decaying_chain(s: Stream) -> None:
    """cus_c0 → c1 → c2 (through the fund overnight) → c3 → c4, 2-4% shaved per hop, then a card."""
    s.at_china(0, 10)
    s.bank("cus_c0", "debit_card", "30000.00")
    s.p2p("cus_c0", "cus_c1", "28000.00")
    s.later(hours=7)
    s.p2p("cus_c1", "cus_c2", "27100.00")
    s.later(hours=2)
    order = {"fund_code": "PH0001", "units": "27000.00", "status": "pending"}
    _event(s, "wealth", "mmf.subscribe", "cus_c2", {**order, "id": "m1", "kind": "subscribe", "amount": "27000.00"})
    s.later(hours=20)
    _event(s, "wealth", "mmf.redeem", "cus_c2", {**order, "id": "m2", "kind": "redeem", "amount": "27000.00"})
    s.later(hours=1)
    s.p2p("cus_c2", "cus_c3", "26300.00")
    s.later(hours=30)
    s.p2p("cus_c3", "cus_c4", "25500.00")
    s.later(hours=6)
    s.bank("cus_c4", "credit_card", "24900.00")


def test_a_decaying_chain_raises_one_alert_naming_every_account(engine, clock) -> None:  # type: ignore[no-untyped-def]
    _decaying_chain(Stream(engine, clock))
    Monitor(engine, batch=3).run()
    chains = [a for a in alerts_of(engine) if a["typology"] == "mule_chain"]
    assert len(chains) == 1 and chains[0]["party"] == "cus_c0"
    evidence = json.loads(chains[0]["evidence"])
    assert evidence["accounts"] == [f"cus_c{i}" for i in range(5)]
    assert [f["counterparty"] for f in evidence["flows"]] == ["cus_c1", "cus_c2", "cus_c3", "cus_c4", "bank"]
    # hours apart, no hop is quick; but c2 passed it on within the hour of taking it out of the fund
    assert {p for p in pairs(engine) if p[0] != "mule_chain"} == {("rapid_in_out", "cus_c2")}
    with reading(engine) as connection:
        shown = list_alerts(connection, by_score=True)
    assert shown[0]["typology"] == "mule_chain" and shown[0]["evidence"]["accounts"] == evidence["accounts"]


def test_a_chain_survives_a_restart_mid_way(engine, clock) -> None:  # type: ignore[no-untyped-def]
    _decaying_chain(Stream(engine, clock))
    Monitor(engine).run()
    expected = alerts_of(engine)
    forget_monitor(engine)
    try:
        Monitor(engine, batch=2, crash_after=7).run()
    except MonitorCrash:
        pass
    Monitor(engine, batch=2).run()
    assert alerts_of(engine) == expected


def test_a_chain_that_stops_passing_money_on_is_no_chain(engine, clock) -> None:  # type: ignore[no-untyped-def]
    s = Stream(engine, clock)
    s.at_china(0, 10)
    _chain(s, "cus_k", ("9000.00", "8700.00", "8400.00"), cash_out=None)  # c3 keeps it: two passed it on
    _chain(s, "cus_h", ("9000.00", "6000.00", "5800.00", "5600.00"), cash_out="5500.00")  # a third kept at h1
    s.later(days=4)
    _chain(s, "cus_t", ("9000.00", "8700.00"), cash_out=None)
    s.later(days=4)  # longer than a hop: the money did not pass on
    s.p2p("cus_t2", "cus_t3", "8500.00")
    s.later(hours=5)
    s.bank("cus_t3", "credit_card", "8400.00")
    Monitor(engine).run()
    chains = {
        a["party"]: json.loads(a["evidence"])["accounts"] for a in alerts_of(engine) if a["rule_code"] == "mule_chain"
    }
    assert chains == {"cus_h1": ["cus_h1", "cus_h2", "cus_h3", "cus_h4"]}  # the chain starts where it is whole


def test_fan_in_spread_over_days_and_passed_on_is_caught(engine, clock) -> None:  # type: ignore[no-untyped-def]
    s = Stream(engine, clock)
    for i in range(12):  # four a day, over three days: never ten in one
        s.at_china(i // 4, 10 + i % 4)
        s.p2p(f"cus_p{i}", "cus_collector", "3000.17")
    s.at_china(3, 11)
    s.bank("cus_collector", "credit_card", "20000.00")
    s.p2p("cus_collector", "cus_next", "12000.00")
    Monitor(engine).run()
    assert ("fan_in", "cus_collector") in pairs(engine)


def test_wedding_gifts_group_buying_and_payroll_are_not_flagged(engine, clock) -> None:  # type: ignore[no-untyped-def]
    s = Stream(engine, clock)
    s.at_china(0, 11)
    for i in range(25):  # 喜钱: guests pay the couple on the day
        s.later(minutes=7)
        s.p2p(f"cus_guest{i}", "cus_bride", f"{600 + 200 * (i % 5)}.00")
    s.at_china(1, 10)
    s.bank("cus_bride", "debit_card", "60000.00")  # and from her own card, a gift to her parents
    s.p2p("cus_bride", "cus_mother", "60000.00")
    s.at_china(2, 15)
    s.qr("cus_bride", "mer_hotel", "21000.00")  # the banquet
    for i in range(18):  # 团购: neighbours pay the organiser over two days, who pays the shop
        s.at_china(3 + i // 9, 9 + i % 9)
        s.p2p(f"cus_neighbour{i}", "cus_organiser", "86.50")
    s.qr("cus_organiser", "mer_fruit", "1557.00")
    s.at_china(5, 9)
    s.bank("cus_boss", "debit_card", "80000.00")  # payroll from the employer's own card
    for i in range(14):
        s.p2p("cus_boss", f"cus_worker{i}", f"{5200 + 37 * i}.00")
    s.bank("cus_parent", "debit_card", "60000.00")
    s.p2p("cus_parent", "cus_student", "60000.00")  # tuition money from a parent, paid to the school at once
    s.later(hours=1)
    s.qr("cus_student", "mer_university", "58000.00")
    Monitor(engine).run()
    flagged = {party for rule, party in pairs(engine) if not rule.startswith("large")}
    assert flagged == set()
    with reading(engine) as connection:
        assert audit(connection).ok


def test_a_mule_paid_by_others_too_still_passes_the_chain_on(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """A hop is set against the inbound it passes on whole, not the oldest money the mule holds."""
    s = Stream(engine, clock)
    s.at_china(0, 10)
    for k in (1, 2, 3):
        s.p2p("cus_other", f"cus_m{k}", "5000.00")  # each mule also got unrelated money first
    s.later(hours=1)
    _chain(s, "cus_m", ("20000.00", "19400.00", "18800.00"), cash_out="18300.00", hours=6)
    Monitor(engine).run()
    [chain] = [a for a in alerts_of(engine) if a["rule_code"] == "mule_chain"]
    assert json.loads(chain["evidence"])["accounts"] == ["cus_m0", "cus_m1", "cus_m2", "cus_m3"]


def test_days_in_the_fund_do_not_break_a_chain(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """w1 parks what it got in the fund on a Thursday and redeems it four days later, past the 3-day hop:
    the time in its own product does not count, so the chain is whole."""
    s = Stream(engine, clock)
    s.at_china(3, 10)  # Thursday 2026-01-08
    s.p2p("cus_w0", "cus_w1", "9000.00")
    s.later(hours=1)
    order = {"fund_code": "PH0001", "units": "8900.00", "status": "pending"}
    _event(s, "wealth", "mmf.subscribe", "cus_w1", {**order, "id": "w1", "kind": "subscribe", "amount": "8900.00"})
    s.later(days=4, hours=2)
    _event(s, "wealth", "mmf.fast_redeem", "cus_w1", {**order, "id": "w2", "kind": "fast_redeem", "amount": "8900.00"})
    s.p2p("cus_w1", "cus_w2", "8800.00")
    s.later(hours=6)
    s.p2p("cus_w2", "cus_w3", "8600.00")
    s.later(hours=6)
    s.bank("cus_w3", "credit_card", "8400.00")
    Monitor(engine).run()
    chains = [json.loads(a["evidence"])["accounts"] for a in alerts_of(engine) if a["rule_code"] == "mule_chain"]
    assert chains == [["cus_w0", "cus_w1", "cus_w2", "cus_w3"]]
