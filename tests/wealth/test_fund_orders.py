"""Fund distribution through the services on SQLite and PostgreSQL: orders across the cut-off,
weekends and holidays confirm and pay on the right dates at the trade date's NAV; fees by hand;
bad input changes nothing; the ledger audits and the reserve covers the wallets."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from puhui.db import reading
from puhui.ledger.tables import accounts, transfers
from puhui.payments.reserve import reserve_coverage
from puhui.wealth import calendar
from puhui.wealth.errors import FundClosed, InsufficientUnits, UnsuitableProduct
from puhui.wealth.funds import orders as fo
from puhui.wealth.funds.nav_files import load_navs
from puhui.wealth.funds.pricing import FeeTier, RedemptionFeeStep
from puhui.wealth.funds.tables import fund_lots, fund_navs, fund_orders
from puhui.wealth.suitability.service import CURRENT, record_answers

from .mmf_world import World, at

FUND = "EQ0001"
TIERS = [FeeTier(100, Decimal("0.015")), FeeTier(1_000_000, Decimal("0.01")), FeeTier(500_000_000, fixed=100_000)]
SCHEDULE = [
    RedemptionFeeStep(7, Decimal("0.015"), Decimal(1)),
    RedemptionFeeStep(365, Decimal("0.005")),
    RedemptionFeeStep(730, Decimal("0.0025")),
    RedemptionFeeStep(None, Decimal(0)),
]


def answers(highest: bool) -> dict[str, str]:
    pick = max if highest else min
    return {q.id: pick(q.choices, key=lambda c: c.score).key for q in CURRENT.questions}


def nav_of(day: dt.date) -> int:
    """A distinct NAV (1/10000 yuan) for every day, so a wrong day's NAV shows."""
    return 10_000 + (day - dt.date(2026, 1, 1)).days * 7


class Funds(World):
    def product(self, code: str = FUND, risk: int = 3, days: int = 3, status: str = "open") -> dict:
        return self.run(
            lambda uow: fo.create_product(uow, code, f"普惠成长混合{code}", risk, TIERS, SCHEDULE, days, status)
        )

    def investor(self, fen: int, highest: bool = True) -> str:
        cid = self.customer(fen=fen)
        self.run(lambda uow: record_answers(uow, cid, CURRENT.version, answers(highest)))
        return cid

    def navs(self, start: str, end: str, code: str = FUND) -> None:
        day, last, lines = dt.date.fromisoformat(start), dt.date.fromisoformat(end), ["date,fund_code,nav"]
        while day <= last:
            if calendar.is_trading_day(day):
                lines.append(f"{day},{code},{Decimal(nav_of(day)).scaleb(-4)}")
            day += dt.timedelta(days=1)
        self.run(lambda uow: load_navs(uow, "\n".join(lines)))

    def buy(self, cid: str, fen: int, code: str = FUND) -> dict:
        return self.run(lambda uow: fo.purchase(uow, cid, code, fen, self.key()))[0]

    def sell(self, cid: str, units: int, code: str = FUND) -> dict:
        return self.run(lambda uow: fo.redeem(uow, cid, code, units, self.key()))[0]

    def eod(self, day: dt.date) -> dict:
        self.clock.set(max(at((day + dt.timedelta(days=1)).isoformat(), "00:00"), self.clock.now()))  # the day is over
        return fo.funds_eod(self.engine, day)

    def order(self, oid: str) -> dict:
        with reading(self.engine) as connection:
            return dict(connection.execute(select(fund_orders).where(fund_orders.c.id == oid)).mappings().one())

    def units(self, cid: str, fund: str = FUND) -> int:
        with reading(self.engine) as connection:
            return fo.units_held(connection, fund, cid)

    def covered(self) -> bool:
        with reading(self.engine) as connection:
            return reserve_coverage(connection).covered

    def state(self) -> tuple:
        with reading(self.engine) as connection:
            return (
                connection.execute(select(func.count()).select_from(transfers)).scalar(),
                connection.execute(select(func.count()).select_from(fund_orders)).scalar(),
                connection.execute(select(func.count()).select_from(fund_navs)).scalar(),
                connection.execute(select(func.sum(fund_lots.c.units))).scalar(),
                tuple(
                    connection.execute(
                        select(accounts.c.id, accounts.c.debits_posted, accounts.c.credits_posted).order_by(
                            accounts.c.id
                        )
                    )
                ),
            )


# (China time of the order, trade date T, confirmation T+1): across the 15:00 cut-off, a weekend,
# the Mid-Autumn Friday (2026-09-25) and the National Day week (2026-10-01 … 10-07).
PURCHASES = [
    ("2026-09-16T10:00", "2026-09-16", "2026-09-17"),  # before the cut-off
    ("2026-09-16T15:00", "2026-09-17", "2026-09-18"),  # at 15:00: the next trading day
    ("2026-09-18T16:00", "2026-09-21", "2026-09-22"),  # Friday after the cut-off: Monday
    ("2026-09-19T11:00", "2026-09-21", "2026-09-22"),  # Saturday
    ("2026-09-24T15:01", "2026-09-28", "2026-09-29"),  # Thursday late, Friday a holiday
    ("2026-09-30T14:59", "2026-09-30", "2026-10-08"),  # before National Day: confirmed after it
    ("2026-09-30T15:30", "2026-10-08", "2026-10-09"),  # after the cut-off: priced after the holiday
    ("2026-10-03T09:00", "2026-10-08", "2026-10-09"),  # inside the holiday
]
# Redemptions of a fund paying cash T+3: (China time, T, T+1 confirmation, T+3 cash).
REDEMPTIONS = [
    ("2026-09-16T10:00", "2026-09-16", "2026-09-17", "2026-09-21"),
    ("2026-09-24T15:01", "2026-09-28", "2026-09-29", "2026-10-08"),
    ("2026-09-30T10:00", "2026-09-30", "2026-10-08", "2026-10-12"),
    ("2026-10-09T16:00", "2026-10-12", "2026-10-13", "2026-10-15"),
]


def test_orders_confirm_and_pay_on_the_right_dates_at_the_trade_dates_nav(engine, clock):
    w = Funds(engine, clock)
    clock.set(at("2026-09-01", "09:00"))
    w.product()
    w.navs("2026-09-01", "2026-10-31")
    seller = w.investor(fen=10_000_000)
    buyer = w.investor(fen=10_000_000)
    w.buy(seller, 5_000_000)  # T 09-01, confirmed 09-02: the units the redemptions sell
    w.eod(dt.date(2026, 9, 1))
    w.eod(dt.date(2026, 9, 2))
    events = sorted(
        [(when, "buy", row) for when, *row in PURCHASES] + [(when, "sell", row) for when, *row in REDEMPTIONS]
    )
    placed: list[tuple[str, list[str], str]] = []
    day, confirmed_on, paid_on = dt.date(2026, 9, 3), {}, {}
    wallet_before = {}
    while day <= dt.date(2026, 10, 16):
        for when, kind, expected in [e for e in events if e[0][:10] == day.isoformat()]:
            clock.set(at(*when.split("T")))
            order = w.buy(buyer, 100_000) if kind == "buy" else w.sell(seller, 10_000)
            placed.append((order["id"], expected, kind))
            wallet_before[order["id"]] = w.wallet(seller)
        w.eod(day)
        for oid, _, _ in placed:
            row = w.order(oid)
            if row["status"] in ("confirmed", "settled"):
                confirmed_on.setdefault(oid, day.isoformat())
            if row["status"] == "settled":
                paid_on.setdefault(oid, day.isoformat())
        day += dt.timedelta(days=1)
    assert len(placed) == len(events)
    for oid, expected, kind in placed:
        row = w.order(oid)
        assert (row["trade_date"], row["confirm_date"]) == tuple(expected[:2])
        assert confirmed_on[oid] == expected[1]
        assert row["nav"] == nav_of(dt.date.fromisoformat(expected[0]))
        if kind == "sell":
            assert (row["cash_date"], paid_on[oid]) == (expected[2], expected[2])
            lots = json.loads(row["lots"])
            gross = sum(round(Decimal(u) * row["nav"] / 10_000) for u, _ in lots)
            assert row["amount"] + row["fee"] == gross > 0
    assert w.units(buyer) == sum(w.order(oid)["units"] for oid, _, kind in placed if kind == "buy")
    assert w.audit_ok() and w.covered()


def test_purchase_and_redemption_amounts_by_hand(engine, clock):
    w = Funds(engine, clock)
    clock.set(at("2026-03-02", "10:00"))  # Monday
    w.product()
    cid = w.investor(fen=3_000_000)
    with reading(engine) as connection:
        fee_income_before = connection.execute(
            select(accounts.c.credits_posted).where(accounts.c.id == fo.FEE_INCOME)
        ).scalar()
    order = w.buy(cid, 1_000_000)  # 10,000.00 CNY: the 1.0% tier
    assert w.wallet(cid) == 2_000_000  # paid at order time
    w.run(lambda uow: load_navs(uow, "date,fund_code,nav\n2026-03-02,EQ0001,1.2345\n"))
    w.eod(dt.date(2026, 3, 2))
    assert w.order(order["id"])["status"] == "pending"  # confirmed T+1, not on T
    w.eod(dt.date(2026, 3, 3))
    row = w.order(order["id"])
    # net = 10,000.00 / 1.01 = 9,900.990099… → 9,900.99; fee = 10,000.00 − 9,900.99 = 99.01;
    # units = 9,900.99 / 1.2345 = 8,020.2430… → 8,020.24 (rounded down)
    assert (row["fee"], row["units"], row["nav"], row["status"]) == (9_901, 802_024, 12_345, "confirmed")
    assert w.units(cid) == 802_024
    assert w.balance(fo.account(FUND, "assets")) == 990_099  # credits − debits: the net amount is the fund's
    # Redeem 1,000.00 units on Wednesday (held 1 day, T 03-04) at NAV 1.3000: gross 1,300.00;
    # under 7 days: 1.5% = 19.50, all of it to the fund; cash 1,280.50 on T+3 = Monday 03-09.
    clock.set(at("2026-03-04", "11:00"))
    sale = w.sell(cid, 100_000)
    assert w.units(cid) == 702_024  # left the holding at order time
    w.run(lambda uow: load_navs(uow, "date,fund_code,nav\n2026-03-04,EQ0001,1.3000\n"))
    for d in (4, 5, 6, 9):
        w.eod(dt.date(2026, 3, d))
        if d == 6:
            assert w.wallet(cid) == 2_000_000  # confirmed, not yet paid
    row = w.order(sale["id"])
    assert (row["amount"], row["fee"], row["fee_to_fund"], row["status"]) == (128_050, 1_950, 1_950, "settled")
    assert w.wallet(cid) == 2_000_000 + 128_050
    # A later redemption (T 2026-04-02, held 30 days): 0.5% of 1,000.00 × 1.3000 = 6.50; a quarter
    # to the fund = 1.625 → 1.63, the distributor 4.87; cash 1,293.50.
    clock.set(at("2026-04-02", "10:00"))
    later = w.sell(cid, 100_000)
    w.run(lambda uow: load_navs(uow, "date,fund_code,nav\n2026-04-02,EQ0001,1.3000\n"))
    w.eod(dt.date(2026, 4, 3))
    row = w.order(later["id"])
    assert (row["amount"], row["fee"], row["fee_to_fund"]) == (129_350, 650, 163)
    with reading(engine) as connection:
        fee_income = connection.execute(
            select(accounts.c.credits_posted).where(accounts.c.id == fo.FEE_INCOME)
        ).scalar()
    assert fee_income - fee_income_before == 9_901 + 0 + 487  # the fund's 19.50 and 1.63 are not fee income
    assert w.audit_ok() and w.covered()


def test_bad_orders_are_refused_and_change_nothing(engine, clock):
    w = Funds(engine, clock)
    clock.set(at("2026-03-02", "10:00"))
    w.product(risk=3)
    w.product("CLOSED1", status="closed")
    cautious = w.investor(fen=1_000_000, highest=False)  # C1
    bold = w.investor(fen=1_000_000)
    w.buy(bold, 100_000)
    w.navs("2026-03-02", "2026-03-03")
    w.eod(dt.date(2026, 3, 2))
    w.eod(dt.date(2026, 3, 3))
    held = w.units(bold)
    before = w.state()
    with pytest.raises(UnsuitableProduct):
        w.buy(cautious, 100_000)
    with pytest.raises(InsufficientUnits):
        w.sell(bold, held + 1)
    with pytest.raises(FundClosed):
        w.buy(bold, 100_000, code="CLOSED1")
    with pytest.raises(FundClosed):
        w.sell(bold, 1, code="CLOSED1")
    assert w.state() == before
    assert w.wallet(cautious) == 1_000_000 and w.audit_ok()


def test_end_of_day_twice_changes_nothing_and_waits_for_the_nav(engine, clock):
    w = Funds(engine, clock)
    clock.set(at("2026-03-02", "10:00"))
    w.product()
    cid = w.investor(fen=1_000_000)
    order = w.buy(cid, 500_000)
    w.eod(dt.date(2026, 3, 2))
    first = w.eod(dt.date(2026, 3, 3))
    assert first["waiting_for_nav"] == 1 and w.order(order["id"])["status"] == "pending"  # no NAV for T yet
    w.navs("2026-03-02", "2026-03-04")
    before = w.state()
    again = w.eod(dt.date(2026, 3, 3))
    assert again["already_done"] and w.state() == before
    w.eod(dt.date(2026, 3, 4))  # the next day's run confirms it once the NAV is there
    assert w.order(order["id"])["status"] == "confirmed"
    state = w.state()
    assert w.eod(dt.date(2026, 3, 4))["already_done"] and w.state() == state
    assert w.audit_ok() and w.covered()


def test_the_advisor_sees_the_open_funds_with_their_nav_history(engine, clock):
    from puhui.wealth.advice import advisor

    w = Funds(engine, clock)
    clock.set(at("2026-03-09", "10:00"))
    w.product(risk=2)
    w.product("EQ0002", risk=4)
    w.product("EQ0003", status="closed")
    w.navs("2026-03-02", "2026-03-06")
    w.navs("2026-03-02", "2026-03-06", code="EQ0002")
    w.navs("2026-03-02", "2026-03-06", code="EQ0003")
    assert fo.universe in advisor.UNIVERSE_SOURCES  # registered by importing the module
    with reading(engine) as connection:
        got = advisor.fund_universe(connection)
    assert list(got.navs.columns) == [FUND, "EQ0002"] and len(got.navs) == 5
    assert got.navs[FUND].iloc[0] == nav_of(dt.date(2026, 3, 2)) / 10_000
    assert {code: int(r) for code, r in got.risks.items()} == {FUND: 2, "EQ0002": 4}
