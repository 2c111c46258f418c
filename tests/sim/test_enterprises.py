"""Core enterprises, suppliers and fund investors in a small run: payables confirmed against the
core's limit, some financed, one paid at maturity; fund purchases confirmed at a loaded NAV; the
ledger audits and the reserve covers the wallets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.payments import reserve
from puhui.sim.world import Config, simulate
from puhui.supplychain.tables import sc_core_enterprises, sc_receivables
from puhui.wealth.funds.tables import fund_navs, fund_orders
from tests.sim import migrated_copy

RUN = Config(customers=50, days=10, seed=7)


@pytest.fixture(scope="module")
def run(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    target = tmp_path_factory.mktemp("enterprises") / "sim.db"
    engine = migrated_copy(sqlite_template, target)
    yield engine, simulate(engine, RUN)
    engine.dispose()


def test_cores_confirm_suppliers_finance_and_payables_are_paid_at_maturity(run) -> None:  # type: ignore[no-untyped-def]
    engine, result = run
    with reading(engine) as connection:
        cores = connection.execute(select(sc_core_enterprises)).mappings().all()
        bills = connection.execute(select(sc_receivables)).mappings().all()
        assert audit(connection).ok and reserve.reserve_coverage(connection).covered
    assert len(cores) == RUN.customers // 2000 + 2
    statuses = Counter(b["status"] for b in bills)
    assert len(bills) == result.supply_chain["confirmed"] >= 2 * len(cores)
    assert result.supply_chain["financed"] >= 1 and statuses["paid"] >= 1, statuses
    assert all(c["used"] <= c["credit_limit"] for c in cores)
    for core in cores:  # the limit counts exactly what is still open
        assert core["used"] == sum(
            b["face"] for b in bills if b["core_id"] == core["merchant_id"] and b["status"] != "paid"
        )
    financed = [b for b in bills if b["discount"] is not None]
    assert financed and all(0 < b["discount"] < b["face"] for b in financed)
    assert all(
        b["paid_to"] == ("platform" if b["discount"] is not None else "supplier")
        for b in bills
        if b["status"] == "paid"
    )


def test_investors_buy_distributed_funds_confirmed_at_the_trade_dates_nav(run) -> None:  # type: ignore[no-untyped-def]
    engine, result = run
    with reading(engine) as connection:
        orders = connection.execute(select(fund_orders)).mappings().all()
        navs = {(n["fund_code"], n["nav_date"]): n["nav"] for n in connection.execute(select(fund_navs)).mappings()}
    purchases = [o for o in orders if o["kind"] == "purchase"]
    assert len(purchases) == result.done["fund_purchase"] > 0
    confirmed = [o for o in purchases if o["status"] == "confirmed"]
    assert confirmed, Counter(o["status"] for o in purchases)
    for order in confirmed:  # units = (amount − fee) / NAV of the trade date, to the hundredth of a unit
        nav = navs[(order["fund_code"], order["trade_date"])]
        assert order["nav"] == nav
        assert abs(order["units"] - (order["amount"] - order["fee"]) * 10_000 // nav) <= 1
    assert {k.split(":")[1] for k in result.refused} <= {"InsufficientFunds", "LimitExceeded", "UnsuitableProduct"}
