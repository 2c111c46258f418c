"""Self-financing (自融), fund pool (资金池) and dormant accounts (长期不动户) over what the real services
publish (registration, card top-ups and withdrawals, P2P, a loan accepted through lending.service),
with the stored default rules; a crash of the monitor mid-stream changes no alert; the books audit clean."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from sqlalchemy import delete, select

from puhui.db import reading, transaction
from puhui.db.tables import event_offsets, outbox
from puhui.ledger.audit import audit
from puhui.payments import reserve
from puhui.regtech import related
from puhui.regtech.monitor import CONSUMER, Monitor, MonitorCrash
from puhui.regtech.tables import monitor_alerts, monitor_flows, monitor_parties
from puhui.sim.agents import Agent, Kind, Platform
from tests.regtech.streams import alerts_of


class Market:
    """Customers and their money through the services (the simulator's facade), the clock moved between acts."""

    def __init__(self, engine, clock) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.clock = engine, clock
        self.platform = Platform(engine, "t")
        self.n = 0

    def customer(self, funds: int = 0) -> Agent:
        self.n += 1
        agent = Agent(self.n, Kind.salary, random.Random(self.n))
        self.platform.register(agent, self.n)
        if funds:
            self.top_up(agent, funds)
        return agent

    def top_up(self, who: Agent, fen: int) -> None:
        assert self.platform.top_up(who.customer_id, fen) is not None

    def pay(self, payer: Agent, payee: Agent, fen: int) -> str:
        paid = self.platform.p2p(payer.customer_id, payee.customer_id, fen)
        assert paid is not None, self.platform.refused
        return paid

    def withdraw(self, who: Agent, fen: int) -> None:
        assert self.platform.withdraw(who.customer_id, fen) is not None, self.platform.refused

    def borrow(self, who: Agent, fen: int) -> str:
        self.platform.ensure_product()
        transaction(self.engine, lambda uow: reserve.inject_capital(uow, f"capital.{who.customer_id}", fen))
        self.platform.borrow(who, fen, 6)
        assert who.loan_id is not None, self.platform.refused
        return who.loan_id

    def relate(self, lender: str, party: Agent) -> None:
        transaction(self.engine, lambda uow: related.add(uow, {"lender": lender, "party": party.customer_id}, "test"))

    def later(self, **delta: float) -> None:
        self.clock.advance(dt.timedelta(**delta))

    def audit_ok(self) -> bool:
        with reading(self.engine) as connection:
            return audit(connection).ok


def _of(engine, typology: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [a for a in alerts_of(engine) if a["typology"] == typology]


def _events(engine, type_: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = (
            connection.execute(select(outbox.c.payload).where(outbox.c.type == type_).order_by(outbox.c.position))
            .scalars()
            .all()
        )
    return [json.loads(r) if isinstance(r, str) else r for r in rows]


# --- 自融 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("to_affiliate", [True, False], ids=["affiliate", "unrelated"])
def test_loan_proceeds_to_the_lenders_affiliate(engine, clock, to_affiliate) -> None:  # type: ignore[no-untyped-def]
    m = Market(engine, clock)
    borrower, affiliate, stranger = m.customer(), m.customer(), m.customer()
    m.relate("platform", affiliate)
    loan_id = m.borrow(borrower, 10_000_00)
    [disbursed] = _events(engine, "lending.loan_disbursed")
    assert disbursed["id"] == loan_id and disbursed["lenders"] == ["platform"]
    m.later(hours=3)
    payment = m.pay(borrower, affiliate if to_affiliate else stranger, 6_000_37)  # 60% of the loan
    Monitor(engine).run()
    found = _of(engine, "self_financing")
    if not to_affiliate:
        assert found == []
    else:
        [alert] = found
        assert alert["party"] == borrower.customer_id
        flows = json.loads(alert["evidence"])["flows"]
        assert {(f["ref"], f["direction"], f["counterparty"], f["amount"]) for f in flows} == {
            (loan_id, "in", "platform", 10_000_00),
            (payment, "out", affiliate.customer_id, 6_000_37),
        }
    assert m.audit_ok()


# --- 资金池 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("payers", [20, 19])
def test_a_person_collecting_from_many_and_withdrawing(engine, clock, payers) -> None:  # type: ignore[no-untyped-def]
    m = Market(engine, clock)
    pool = m.customer()
    people = [m.customer(funds=2_000_00) for _ in range(payers)]
    for i, person in enumerate(people):  # over three days, never ten a day (no fan-in)
        if i % 7 == 0:
            m.later(days=1)
        m.pay(person, pool, 1_000_19)
    m.later(days=1)
    m.withdraw(pool, payers * 600_00)  # 60% to a bank card
    Monitor(engine).run()
    found = _of(engine, "fund_pool")
    if payers < 20:
        assert found == []
    else:
        [alert] = found
        assert alert["party"] == pool.customer_id
        flows = json.loads(alert["evidence"])["flows"]
        assert sum(f["direction"] == "in" for f in flows) == payers
        assert [f["counterparty"] for f in flows if f["direction"] == "out"] == ["bank"]
    assert m.audit_ok()


# --- 长期不动户 ---------------------------------------------------------------------------------


def _dormant_story(m: Market, quiet_days: int) -> Agent:
    """A customer active on day 0, then nothing of theirs for `quiet_days` (others keep paying), then
    60,000 CNY in and a little out. Returns the sleeper."""
    sleeper, other, bystander = m.customer(), m.customer(), m.customer(funds=5_000_00)
    m.top_up(sleeper, 1_000_00)
    m.pay(sleeper, other, 100_23)
    for _ in range(quiet_days // 5):  # the rest of the market moves: the sleeper's flows leave the window
        m.later(days=5)
        m.pay(bystander, other, 10_17)
    m.later(days=quiet_days - 5 * (quiet_days // 5), hours=1)
    m.top_up(sleeper, 60_000_00)
    m.later(hours=2)
    m.pay(sleeper, other, 3_000_41)
    return sleeper


@pytest.mark.parametrize("quiet_days", [31, 29])
def test_a_dormant_account_waking_with_a_large_sum(engine, clock, quiet_days) -> None:  # type: ignore[no-untyped-def]
    m = Market(engine, clock)
    sleeper = _dormant_story(m, quiet_days)
    Monitor(engine, batch=5).run()
    found = _of(engine, "dormant")
    if quiet_days < 30:
        assert found == []
    else:
        [alert] = found
        assert alert["party"] == sleeper.customer_id
        flows = json.loads(alert["evidence"])["flows"]
        assert flows[0]["direction"] == "in" and flows[0]["amount"] == 60_000_00
    assert m.audit_ok()


def _forget(engine) -> None:  # type: ignore[no-untyped-def]
    def wipe(uow) -> None:  # type: ignore[no-untyped-def]
        for table in (monitor_alerts, monitor_flows, monitor_parties):
            uow.execute(delete(table))
        uow.execute(delete(event_offsets).where(event_offsets.c.consumer == CONSUMER))

    transaction(engine, wipe)


def _position_of_wake(engine, sleeper: str) -> int:  # type: ignore[no-untyped-def]
    """How many events come up to the sleeper's 60,000 CNY top-up, that one included."""
    with reading(engine) as connection:
        rows = connection.execute(
            select(outbox.c.type, outbox.c.key, outbox.c.payload).order_by(outbox.c.position)
        ).all()
    for n, (type_, key, payload) in enumerate(rows, start=1):
        body = json.loads(payload) if isinstance(payload, str) else payload
        if type_ == "bank_order.posted" and key == sleeper and body.get("amount") == "60000.00":
            return n
    raise AssertionError("no wake-up top-up in the outbox")


def _stored_state(engine, party: str) -> tuple[list, int]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        flows = connection.execute(select(monitor_flows.c.ref).where(monitor_flows.c.party == party)).all()
        saved = connection.execute(select(monitor_parties.c.party).where(monitor_parties.c.party == party)).all()
    return flows, len(saved)


def test_a_crash_mid_stream_changes_no_alert(engine, clock) -> None:  # type: ignore[no-untyped-def]
    m = Market(engine, clock)
    sleeper = _dormant_story(m, 31)
    Monitor(engine, batch=1).run()
    uninterrupted = alerts_of(engine)
    assert [a["party"] for a in uninterrupted if a["typology"] == "dormant"] == [sleeper.customer_id]
    wake = _position_of_wake(engine, sleeper.customer_id)
    for crash_after in (wake // 2, wake, wake + 1):  # before, on and just after the wake-up
        _forget(engine)
        with pytest.raises(MonitorCrash):
            Monitor(engine, batch=1, crash_after=crash_after).run()
        if crash_after == wake:  # the sleeper's day-0 flows left the stored window: only its saved state knows
            assert _stored_state(engine, sleeper.customer_id) == ([], 1)
        Monitor(engine, batch=1).run()
        assert alerts_of(engine) == uninterrupted, crash_after
    assert m.audit_ok()
