"""Sale proceeds buy at once (可用) but are withdrawable (可取) only from T+1, over HTTP on SQLite and PostgreSQL.

A new user's finding: selling 600000 and moving all the brokerage cash, the day's proceeds included, back to
the wallet the same day succeeded. Now the account answers `withdrawable_cash` beside `cash`, and a transfer
out above it is a 409 `cash_not_withdrawable` that changes nothing (above the cash itself still
`insufficient_cash`); the proceeds buy at once, are withdrawable from the next trading day (a Friday's from
Monday), and two racing transfers out cannot both take the same settled cash."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from puhui.db import transaction
from puhui.errors import PuhuiError
from puhui.identity.customers import wallet_id
from puhui.securities import accounts as brokerage
from tests.identity.helpers import LI, login
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    WALLET,
    assert_audit_clean,
    at,
    call,
    cash,
    client,
    order,
    problem,
    snapshot,
    two_traders,
)

# Li (1,000.00 in the brokerage) sells 500 × 10.50 = 5,250.00 to Zhang: fees 5.00 + 2.63 + 0.05 = 7.68
PROCEEDS = 5250_00 - 7_68
LI_CASH = 1_000_00 + PROCEEDS  # 6,242.32


def out(client, me: dict, key: str, amount: str):  # type: ignore[no-untyped-def]
    return call(client, "/v1/securities/transfers", me, key, {"direction": "out", "amount": amount})


def account(client, me: dict) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    shown = client.get("/v1/securities/account", headers=me)
    assert shown.status_code == 200, shown.text
    return shown.json()["cash"], shown.json()["withdrawable_cash"]


def sold(client, engine):  # type: ignore[no-untyped-def]
    """Li's sale to Zhang at the clock's moment, both orders filled."""
    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, lee, "s1", "sell", 500).status_code == 201
    assert order(client, z, "b1", "buy", 500).json()["status"] == "filled"
    return li, lee


def test_todays_proceeds_buy_at_once_and_leave_the_next_trading_day(client, engine, clock):
    li, lee = sold(client, engine)
    assert account(client, lee) == ("6242.32", "1000.00")
    before = snapshot(engine)
    problem(out(client, lee, "all", "6242.32"), 409, "cash_not_withdrawable")
    refused = out(client, lee, "a-fen-more", "1000.01")
    problem(refused, 409, "cash_not_withdrawable")
    assert "1000.00" in refused.json()["detail"] and "2026-12-04" in refused.json()["detail"]
    problem(out(client, lee, "above-cash", "6242.33"), 409, "insufficient_cash")
    assert snapshot(engine) == before
    taken = out(client, lee, "settled", "1000.00")
    assert taken.status_code == 201, taken.text
    assert cash(engine, wallet_id(li)) == WALLET - 1_000_00 + 1_000_00
    assert account(client, lee) == ("5242.32", "0.00")
    bought = order(client, lee, "b-back", "buy", 100, "10.00")  # the proceeds buy at once: it rests, cash frozen
    assert bought.status_code == 201 and bought.json()["status"] == "open", bought.text
    spent = int(bought.json()["frozen_cash"].replace(".", ""))
    assert account(client, lee) == (f"{(PROCEEDS - spent) / 100:.2f}", "0.00")
    problem(out(client, lee, "after-buy", "0.01"), 409, "cash_not_withdrawable")

    at(clock, 9, 0, days=1)  # Friday: Thursday's proceeds settled
    lee = login(client, LI)
    left = PROCEEDS - spent
    assert account(client, lee) == (f"{left / 100:.2f}", f"{left / 100:.2f}")
    assert out(client, lee, "friday", f"{left / 100:.2f}").status_code == 201
    assert cash(engine, brokerage.cash_account(li)) == 0
    assert cash(engine, wallet_id(li)) == WALLET + left
    assert_audit_clean(engine)


def test_fridays_proceeds_wait_over_the_weekend(client, engine, clock):
    at(clock, 10, 0, days=1)  # Friday 2026-12-04
    li, lee = sold(client, engine)
    at(clock, 10, 0, days=2)  # Saturday
    lee = login(client, LI)
    assert account(client, lee) == ("6242.32", "1000.00")
    before = snapshot(engine)
    refused = out(client, lee, "saturday", "1000.01")
    problem(refused, 409, "cash_not_withdrawable")
    assert "2026-12-07" in refused.json()["detail"]  # Monday
    assert snapshot(engine) == before
    at(clock, 9, 0, days=4)  # Monday
    lee = login(client, LI)
    assert account(client, lee) == ("6242.32", "6242.32")
    assert out(client, lee, "monday", "6242.32").status_code == 201
    assert cash(engine, wallet_id(li)) == WALLET - 1_000_00 + LI_CASH
    assert_audit_clean(engine)


def test_a_buyer_and_an_untraded_account_withdraw_all_their_cash(client, engine, clock):
    """Only sale proceeds wait: the buyer's cash (what the buy left) and cash moved in are withdrawable."""
    zhang, z, li, lee = two_traders(client, engine)
    assert account(client, z) == ("50000.00", "50000.00")
    assert order(client, lee, "s1", "sell", 500).status_code == 201  # open: the shares frozen, nothing sold yet
    assert account(client, lee) == ("995.00", "995.00")  # the minimum commission frozen
    assert order(client, z, "b1", "buy", 500).json()["status"] == "filled"
    assert account(client, z) == ("44744.95", "44744.95")
    assert out(client, z, "all", "44744.95").status_code == 201
    assert_audit_clean(engine)


def test_racing_transfers_out_take_the_settled_cash_once(client, engine, clock):
    li, lee = sold(client, engine)
    barrier = Barrier(2)

    def take(n: int) -> str:
        barrier.wait()
        try:
            transaction(engine, lambda uow: brokerage.transfer(uow, li, "out", 600_00, f"race-{n}"))
        except PuhuiError as error:
            return error.code
        return "ok"

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(take, range(2)))
    assert results == ["cash_not_withdrawable", "ok"]
    assert cash(engine, brokerage.cash_account(li)) == LI_CASH - 600_00
    assert_audit_clean(engine)
