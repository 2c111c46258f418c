"""A buy draws first on the cash usable but not withdrawable (今日卖出资金, 可用不可取), as A-share brokers count 可取.

A new user's finding: with 3,936.98 withdrawable and 4,038.93 of the day's sale proceeds in the cash, a buy of
3,270.03 left 666.95 withdrawable: the buy had been paid from the settled cash first. Now the day's proceeds pay
for a buy first, so withdrawable = min(withdrawable before, the cash left): a buy the proceeds cover leaves it
as it was. `accounts.unsettled_cash` replays the unsettled day's freezes and releases in ledger order: a
freeze draws on the unsettled proceeds first, the release of what an order did not spend gives back to them
what its freeze took beyond what it spent. Properties (Hypothesis) on the pure function, and the finding over
HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.identity.customers import wallet_id
from puhui.securities.accounts import CashMove, unsettled_cash, withdrawable_of
from tests.identity.helpers import LI, login
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    WALLET,
    assert_audit_clean,
    at,
    call,
    cash,
    client,
    deposit,
    order,
    problem,
    snapshot,
    two_traders,
)
from tests.securities.test_withdrawable_cash import account, out

# -- the pure function ----------------------------------------------------------------------------------


@dataclass
class Day:
    """A brokerage account through a day: `settled` cash at the start, the moves made, the cash now."""

    settled: int
    moves: list[CashMove]
    cash: int
    arrived: int = 0  # the day's sale proceeds arrived so far

    def withdrawable(self) -> int:
        return withdrawable_of(self.cash, self.moves)


@st.composite
def days(draw: st.DrawFn) -> Day:
    """A day of orders, each frozen when placed (never more than the cash), some ended later in any order: a
    buy releases what it did not spend, a sell its frozen commission and its proceeds less its fees."""
    day = Day(draw(st.integers(0, 10_000_00)), [], 0)
    day.cash = day.settled
    open_orders: dict[str, tuple[bool, int]] = {}
    for n in range(draw(st.integers(0, 12))):
        if open_orders and draw(st.booleans()):
            order_id = draw(st.sampled_from(sorted(open_orders)))
            sell, frozen = open_orders.pop(order_id)
            if sell:
                proceeds = draw(st.integers(0, 20_000_00))
                released = frozen + proceeds
            else:
                released, proceeds = draw(st.integers(0, frozen)), 0
            if released:
                day.moves.append(CashMove(order_id, released, released=True, proceeds=proceeds))
            day.cash += released
            day.arrived += proceeds
        elif day.cash:
            frozen = draw(st.integers(1, day.cash))
            order_id = f"o{n}"
            open_orders[order_id] = (draw(st.booleans()), frozen)
            day.moves.append(CashMove(order_id, frozen))
            day.cash -= frozen
    return day


@settings(max_examples=400, deadline=None)
@given(days())
def test_withdrawable_is_never_negative_nor_above_the_cash_nor_the_settled_cash(day):
    withdrawable = day.withdrawable()
    assert 0 <= withdrawable <= day.cash
    assert withdrawable <= day.settled  # no transfer in: only the settled cash of the morning is withdrawable
    assert 0 <= unsettled_cash(day.moves) <= day.arrived
    assert withdrawable >= max(day.cash - day.arrived, 0)  # at least what paying from settled cash first leaves


@settings(max_examples=400, deadline=None)
@given(days(), st.integers(1, 20_000_00), st.integers(0, 100), st.integers(0, 100))
def test_a_buy_paid_wholly_from_todays_proceeds_leaves_withdrawable_unchanged(day, proceeds, spent_pct, freeze_pct):
    """After the day so far, a sale's proceeds arrive, then a buy freezes at most what is unsettled and
    releases what it did not spend: withdrawable is the same before the buy, while it is open, and after."""
    day.moves.append(CashMove("sale", proceeds, released=True, proceeds=proceeds))
    day.cash += proceeds
    before = day.withdrawable()
    unsettled = unsettled_cash(day.moves)
    frozen = unsettled * freeze_pct // 100
    if frozen:
        day.moves.append(CashMove("buy", frozen))
        day.cash -= frozen
    assert day.withdrawable() == before
    released = frozen - frozen * spent_pct // 100
    if released:
        day.moves.append(CashMove("buy", released, released=True))
        day.cash += released
    assert day.withdrawable() == before


def test_a_buy_beyond_the_proceeds_takes_the_rest_from_withdrawable_and_a_release_gives_it_back():
    sale = CashMove("s", 4_038_93, released=True, proceeds=4_038_93)
    cash = 3_936_98 + 4_038_93
    assert withdrawable_of(cash, [sale]) == 3_936_98
    buy = CashMove("b", 3_270_03)  # the finding: it left 666.95
    assert withdrawable_of(cash - 3_270_03, [sale, buy]) == 3_936_98
    big = CashMove("b", 5_000_00)  # 4,038.93 of it from the proceeds, 961.07 from the settled cash
    assert withdrawable_of(cash - 5_000_00, [sale, big]) == 2_975_91
    back = CashMove("b", 1_500_00, released=True)  # it spent 3,500.00: all from the proceeds
    assert withdrawable_of(cash - 3_500_00, [sale, big, back]) == 3_936_98
    all_back = CashMove("b", 5_000_00, released=True)  # cancelled unfilled: as before it
    assert withdrawable_of(cash, [sale, big, all_back]) == 3_936_98
    early = CashMove("e", 1_000_00)  # a buy frozen before the sale's proceeds arrived spends settled cash
    assert withdrawable_of(cash - 1_000_00, [early, sale]) == 2_936_98


# -- over HTTP ------------------------------------------------------------------------------------------


def test_over_http_a_buy_spends_the_days_proceeds_first(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, lee, "s1", "sell", 500).status_code == 201
    assert order(client, z, "b1", "buy", 500).json()["status"] == "filled"
    assert account(client, lee) == ("6242.32", "1000.00")  # 5,242.32 of it the day's proceeds

    deposit(engine, zhang, "600000", 1000)
    assert order(client, z, "s2", "sell", 100).status_code == 201
    bought = order(client, lee, "b2", "buy", 100)  # 1,050.00 and its fees, all from the day's proceeds
    assert bought.json()["status"] == "filled", bought.text
    left, withdrawable = account(client, lee)
    assert withdrawable == "1000.00" and Decimal(left) < Decimal("6242.32") - 1050  # it was 0.00

    resting = order(client, lee, "b3", "buy", 500, "9.50")  # 4,750.00 and fees frozen: more than the proceeds
    assert resting.json()["status"] == "open", resting.text
    rest = Decimal(left) - Decimal(resting.json()["frozen_cash"])
    assert Decimal(0) < rest < 1000
    assert account(client, lee) == (str(rest), str(rest))  # withdrawable: all that is left
    cancelled = call(client, f"/v1/securities/orders/{resting.json()['id']}/cancel", lee, "c3")
    assert cancelled.status_code == 200, cancelled.text
    assert account(client, lee) == (left, "1000.00")  # the cancel gives each part back where it came from

    before = snapshot(engine)
    problem(out(client, lee, "a-fen-more", "1000.01"), 409, "cash_not_withdrawable")
    assert snapshot(engine) == before
    assert out(client, lee, "settled", "1000.00").status_code == 201
    assert account(client, lee) == (str(Decimal(left) - 1000), "0.00")
    assert cash(engine, wallet_id(li)) == WALLET
    at(clock, 9, 0, days=1)  # Friday: Thursday's proceeds settled
    lee = login(client, LI)
    assert account(client, lee) == (str(Decimal(left) - 1000),) * 2
    assert_audit_clean(engine)
