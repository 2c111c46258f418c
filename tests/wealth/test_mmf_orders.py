"""The money-market wallet on SQLite and PostgreSQL: subscribe → confirm T+1 → daily income →
redeem (T+1 and fast T+0), pay from the fund, dates across weekends and holidays, the T+0 cap under
concurrency, and bad input that changes nothing."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.eod.errors import BusinessDateInFuture, BusinessDateNotOver
from puhui.errors import PuhuiError
from puhui.ledger.tables import accounts, transfers
from puhui.payments.models import VerificationStrength
from puhui.wealth import units as funds
from puhui.wealth.errors import (
    FastRedemptionCapExceeded,
    FundClosed,
    InsufficientUnits,
    InvalidFigures,
    UnknownFund,
    WalletClassTooLow,
)
from puhui.wealth.mmf import eod
from puhui.wealth.mmf import service as mmf
from puhui.wealth.mmf.manager import FixedManager, SimulatedManager
from puhui.wealth.mmf.tables import mmf_daily, mmf_orders

from .mmf_world import FUND, World, at, over

D = dt.date.fromisoformat


def _eod(w: World, day: str, manager=None) -> dict:  # type: ignore[no-untyped-def]
    w.clock.set(max(over(day, "00:00"), w.clock.now()))  # the day is over
    [run] = eod.run_eod(w.engine, D(day), manager or SimulatedManager())
    return run


def _fund_money_matches_units(w: World) -> None:
    """Fund assets (CNY) = units outstanding + money of pending subscriptions and redemptions."""
    issued = -w.balance(funds.issued_account(FUND))  # debit balance: units outstanding
    with reading(w.engine) as c:
        pending = c.execute(
            select(func.coalesce(func.sum(mmf_orders.c.amount), 0)).where(mmf_orders.c.status == "pending")
        ).scalar_one()
    assert w.balance(funds.assets_account(FUND)) == issued + int(pending)


def test_subscribe_confirm_earn_and_redeem(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    clock.set(at("2026-01-05", "09:30"))  # Monday
    cid = w.customer(fen=5_000_000)
    order = w.subscribe(cid, 2_000_000)
    assert (order["trade_date"], order["due_date"]) == ("2026-01-05", "2026-01-06")
    assert w.wallet(cid) == 3_000_000 and w.units(cid) == 0
    r = {
        (FUND, D(d)): Decimal(x)
        for d, x in (
            ("2026-01-05", "0.5123"),
            ("2026-01-06", "0.5123"),
            ("2026-01-07", "0.4999"),
            ("2026-01-08", "0.5000"),
        )
    }
    manager = FixedManager(r)
    assert _eod(w, "2026-01-05", manager)["paid"] == 0  # not confirmed yet: no income
    assert w.units(cid) == 0
    run = _eod(w, "2026-01-06", manager)
    # confirmed Tuesday and earning from Tuesday: 20,000.00 × 0.5123 / 10,000 = 1.0246 → 1.02
    assert (run["confirmed"], run["paid"]) == (1, 102)
    assert w.units(cid) == 2_000_102
    clock.set(at("2026-01-07", "10:00"))
    normal = w.redeem(cid, 1_000_000)
    assert (normal["status"], normal["due_date"]) == ("pending", "2026-01-08")
    fast = w.redeem(cid, 500_000, fast=True)
    assert fast["status"] == "settled" and w.wallet(cid) == 3_500_000
    _fund_money_matches_units(w)
    run = _eod(w, "2026-01-07", manager)
    # 5,001.02 units left × 0.4999 / 10,000 = 0.25000… → 0.25
    assert (run["paid"], run["settled"]) == (25, 0) and w.wallet(cid) == 3_500_000
    run = _eod(w, "2026-01-08", manager)
    assert run["settled"] == 1 and w.wallet(cid) == 4_500_000
    assert w.units(cid) == 2_000_102 - 1_500_000 + 25 + run["paid"]
    _fund_money_matches_units(w)
    assert w.audit_ok()


def test_orders_confirm_and_pay_out_on_the_right_dates(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    clock.set(at("2026-03-31", "09:00"))
    holder = w.customer(fen=10_000_000)
    w.subscribe(holder, 5_000_000)  # Tue 31 Mar → confirmed Wed 1 Apr
    # (when, kind, expected due date): Thu 2 Apr; Qingming closes Mon 6 Apr
    plan = [
        ("2026-04-02T10:00", "subscribe", "2026-04-03"),
        ("2026-04-02T16:00", "subscribe", "2026-04-07"),
        ("2026-04-03T10:00", "redeem", "2026-04-07"),
        ("2026-04-03T15:00", "subscribe", "2026-04-08"),
        ("2026-04-03T15:00", "redeem", "2026-04-08"),
        ("2026-04-04T11:00", "subscribe", "2026-04-08"),
    ]
    orders = []
    day = D("2026-03-31")
    for when, kind, due in plan:
        while over(day, "00:00") <= at(*when.split("T")):  # the days over before the order is placed
            _eod(w, day.isoformat())
            day += dt.timedelta(days=1)
        clock.set(at(*when.split("T")))
        row = w.subscribe(holder, 100_000) if kind == "subscribe" else w.redeem(holder, 100_000)
        assert row["due_date"] == due, (when, kind)
        orders.append(row)
    while day <= D("2026-04-09"):
        _eod(w, day.isoformat())
        with reading(engine) as c:
            done = {r["id"]: r for r in c.execute(select(mmf_orders)).mappings()}
        for row in orders:  # complete exactly from its due date's end of day on
            finished = done[row["id"]]["status"] != "pending"
            assert finished == (D(row["due_date"]) <= day), (row["kind"], row["due_date"], day)
        day += dt.timedelta(days=1)
    _fund_money_matches_units(w)
    assert w.audit_ok()


def test_fast_redemption_cap_holds_under_concurrency(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    clock.set(at("2026-01-05", "09:30"))
    cid = w.customer(fen=5_000_000)
    w.subscribe(cid, 4_000_000)
    _eod(w, "2026-01-05")
    _eod(w, "2026-01-06")
    clock.set(at("2026-01-07", "10:00"))
    outcomes: list[str] = []

    def fast(i: int) -> None:
        try:
            transaction(engine, lambda uow: mmf.redeem(uow, cid, FUND, 300_000, f"fast-{i}", fast=True))
            outcomes.append("ok")
        except FastRedemptionCapExceeded:
            outcomes.append("capped")

    threads = [threading.Thread(target=fast, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 3 × 3,000 = 9,000 ≤ 10,000 < 12,000: exactly three get through, whatever the interleaving
    assert sorted(outcomes) == ["capped"] * 3 + ["ok"] * 3
    assert w.wallet(cid) == 1_000_000 + 900_000
    with pytest.raises(FastRedemptionCapExceeded):
        w.redeem(cid, 100_001, fast=True)
    w.redeem(cid, 100_000, fast=True)  # exactly up to 10,000.00
    w.redeem(cid, 1_000_000)  # normal redemption has no cap
    clock.set(at("2026-01-08", "10:00"))
    w.redeem(cid, 300_000, fast=True)  # a new day, a new cap
    _fund_money_matches_units(w)
    assert w.audit_ok()


def test_pay_a_merchant_straight_from_the_fund(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    clock.set(at("2026-01-05", "09:30"))
    cid, mid = w.customer(fen=1_000_000), w.merchant()
    w.subscribe(cid, 1_000_000)
    _eod(w, "2026-01-05")
    _eod(w, "2026-01-06")
    clock.set(at("2026-01-07", "12:00"))
    units = w.units(cid)
    order, payment, created = w.run(
        lambda uow: mmf.pay_from_fund(uow, cid, FUND, w.qr[mid], 2_550, VerificationStrength.two_factors, "lunch", 60)
    )
    assert created and order["kind"] == "fast_redeem" and order["payment_id"] == payment["id"]
    assert w.units(cid) == units - 2_550 and w.wallet(cid) == 0  # the money went through to the merchant
    again = w.run(
        lambda uow: mmf.pay_from_fund(uow, cid, FUND, w.qr[mid], 2_550, VerificationStrength.two_factors, "lunch", 60)
    )
    assert again[2] is False and w.units(cid) == units - 2_550  # a replay moves nothing
    with pytest.raises(InsufficientUnits):  # more than the fund balance: nothing moves, nothing paid
        w.run(
            lambda uow: mmf.pay_from_fund(
                uow, cid, FUND, w.qr[mid], units, VerificationStrength.two_factors, "dinner", 60
            )
        )
    assert w.units(cid) == units - 2_550
    assert w.audit_ok()


def _state(engine) -> tuple:  # type: ignore[no-untyped-def]
    with reading(engine) as c:
        return (
            c.execute(select(accounts).order_by(accounts.c.id)).all(),
            c.execute(select(func.count()).select_from(transfers)).scalar_one(),
            c.execute(select(mmf_orders).order_by(mmf_orders.c.id)).all(),
            c.execute(select(mmf_daily).order_by(mmf_daily.c.business_date)).all(),
        )


def test_bad_input_is_refused_and_changes_nothing(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    clock.set(at("2026-01-05", "09:30"))
    cid, tier_one = w.customer(fen=1_000_000), w.customer(channels=1, fen=50_000)
    w.subscribe(cid, 500_000)
    _eod(w, "2026-01-05")
    _eod(w, "2026-01-06")
    clock.set(at("2026-01-07", "09:00"))
    before = _state(engine)
    bad = [
        (lambda: w.redeem(cid, w.units(cid) + 1), InsufficientUnits),
        (lambda: w.redeem(cid, w.units(cid) + 1, fast=True), InsufficientUnits),
        (lambda: w.redeem(tier_one, 1), InsufficientUnits),
        (lambda: w.subscribe(cid, 100, fund="NOPE"), UnknownFund),
        (lambda: w.redeem(cid, 100, fund="NOPE"), UnknownFund),
        (lambda: w.subscribe(tier_one, 10_000), WalletClassTooLow),
        (lambda: w.subscribe(cid, 0), PuhuiError),
        (lambda: w.subscribe(cid, 10_000_000), PuhuiError),  # more than the wallet holds
        (
            lambda: w.run(
                lambda uow: eod.load_figures(
                    uow, "fund_code,date,income_per_10k\nPH0001,2026-01-07,0.5\nPH0001,2026-01-08,-0.0100\n"
                )
            ),
            InvalidFigures,
        ),
        (
            lambda: w.run(lambda uow: eod.load_figures(uow, "fund_code,date,income_per_10k\nXX9,2026-01-07,0.5\n")),
            InvalidFigures,
        ),
        (
            lambda: w.run(
                lambda uow: eod.load_figures(uow, "fund_code,date,income_per_10k\nPH0001,2026-01-07,0.12345\n")
            ),
            InvalidFigures,
        ),
        (lambda: eod.run_eod(engine, D("2026-01-08")), BusinessDateInFuture),
        (lambda: eod.run_eod(engine, D("2026-01-07")), BusinessDateNotOver),  # today: still in progress
    ]
    for call, error in bad:
        with pytest.raises(error) as caught:
            call()
        assert 400 <= caught.value.status < 500
        assert _state(engine) == before, error
    clock.set(over("2026-01-07"))  # 01-07 is over: its end of day runs, and refuses a negative figure
    with pytest.raises(InvalidFigures) as caught:
        eod.run_eod(engine, D("2026-01-07"), FixedManager({(FUND, D("2026-01-07")): Decimal("-0.1")}))
    assert 400 <= caught.value.status < 500
    assert _state(engine) == before
    w.run(lambda uow: funds.set_status(uow, FUND, "closed"))
    with pytest.raises(FundClosed):
        w.subscribe(cid, 100)
    w.redeem(cid, 100)  # a closed fund still pays its holders out
    assert w.audit_ok()


def test_end_of_day_alongside_redemptions(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Redemptions racing the end of day: both finish (one lock order, conflicts retried), the day's
    income still adds up with its residue and the ledger audits clean."""
    w = World(engine, clock)
    clock.set(at("2026-01-05", "09:30"))
    people = [w.customer(fen=2_000_000) for _ in range(4)]
    for cid in people:
        w.subscribe(cid, 1_000_000)
    _eod(w, "2026-01-05")
    clock.set(at("2026-01-06", "10:00"))
    for cid in people:
        w.subscribe(cid, 500_000)  # due on the 7th: confirmed by the racing end of day
    _eod(w, "2026-01-06")
    clock.set(over("2026-01-07"))  # 01-07 is over: its end of day runs while the redemptions go on
    errors: list[BaseException] = []

    def redeem(cid: str) -> None:
        try:
            for i in range(3):
                transaction(engine, lambda uow, i=i: mmf.redeem(uow, cid, FUND, 10_000, f"race-{i}", fast=i % 2 == 0))
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=redeem, args=(cid,)) for cid in people]
    for t in threads:
        t.start()
    [run] = eod.run_eod(engine, D("2026-01-07"), SimulatedManager())
    for t in threads:
        t.join()
    assert errors == []
    assert run["confirmed"] == 4 and run["paid"] + run["residue"] == run["distributed"]
    _fund_money_matches_units(w)
    assert w.audit_ok()


def test_auto_sweep_subscribes_the_balance_above_what_stays(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    clock.set(at("2026-01-05", "09:30"))
    cid = w.customer(fen=50_000)
    order, created = w.run(lambda uow: mmf.sweep(uow, cid, FUND, 10_000, "sweep-1"))
    assert created and order["amount"] == 40_000 and w.wallet(cid) == 10_000
    assert w.run(lambda uow: mmf.sweep(uow, cid, FUND, 10_000, "sweep-1"))[1] is False  # replay
    assert w.run(lambda uow: mmf.sweep(uow, cid, FUND, 10_000, "sweep-2")) == (None, False)  # nothing above
    assert w.wallet(cid) == 10_000
    assert w.audit_ok()
