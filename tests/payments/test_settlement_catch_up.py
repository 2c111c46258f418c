"""Settlement catch-up while an earlier payout is pending at the bank, and a failed payout's answer, on SQLite
and PostgreSQL. T+1: every date pays its own net takings; a payout still pending for an earlier date holds
only that date's money, so later dates of the same catch-up pay theirs, and a date with no takings of its
own says it is `waiting` with what is still unpaid, never that nothing is owed. A failed payout tells the
bank's reason and the date whose settlement pays it again."""

from __future__ import annotations

import datetime as dt

from puhui.payments import settlement, wallets
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_MERCHANT
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    ADMIN,
    BANK_KEY,
    D,
    assert_books_clean,
    balance,
    card_of,
    client,
    make_customer,
    make_merchant,
    pay,
)

DAY = dt.timedelta(days=1)


def answered(client, day: dt.date) -> dict:  # type: ignore[no-untyped-def]
    answer = client.get("/v1/settlements", headers=ADMIN, params={"business_date": day.isoformat()})
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["settlements"]
    return row


def test_a_catch_up_behind_a_pending_payout_pays_each_dates_takings(client, engine, clock):
    _payer, me = make_customer(client, engine, "13812345678", "531", 3_000_00)
    merchant_id, shop = make_merchant(client)
    pay(client, me, merchant_id, shop, "100.00")  # D: 99.40 after the fee
    clock.advance(hours=24)
    [first] = settlement.settle(engine, None, D, card_of=card_of)  # held; no bank here to send it to
    assert (first["state"], first["net"]) == ("pending", 99_40)
    pay(client, me, merchant_id, shop, "50.00")  # D+1: 49.70
    clock.advance(hours=24)  # D+2: no takings
    clock.advance(hours=24)
    pay(client, me, merchant_id, shop, "20.00")  # D+3: 19.88
    clock.advance(hours=24)

    # `puhui settle --date D+3` while D's payout is still pending: D+1 and D+2 are caught up first
    run = settlement.settle_days(engine, None, D + 3 * DAY, card_of=card_of)
    got = {day: rows[0] for day, rows in run.caught_up} | {D + 3 * DAY: run.result[0]}
    assert {day: (row["state"], row["net"]) for day, row in got.items()} == {
        D + DAY: ("pending", 49_70),
        D + 2 * DAY: ("waiting", 0),  # not `nothing`: D's and D+1's payouts are still on their way
        D + 3 * DAY: ("pending", 19_88),
    }
    wallet = f"wallet.{merchant_id}"
    assert balance(engine, wallet) == 99_40 + 49_70 + 19_88  # all of it held for the three payouts
    shown = answered(client, D + 2 * DAY)
    assert (shown["state"], shown["net"], shown["unpaid"], shown["carried"]) == ("waiting", "0.00", "149.10", "0.00")
    assert shown["failure_reason"] is None and shown["retried_on"] is None
    assert answered(client, D + 3 * DAY)["unpaid"] == "168.98"
    assert_books_clean(engine)

    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)  # the server's bank gets the held payouts
    wallets.recover_pending_orders(engine, bank, lambda customer_id, card_id: CARD_MERCHANT)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    assert bank.card_balance(CARD_MERCHANT) == 99_40 + 49_70 + 19_88 and balance(engine, wallet) == 0
    shown = answered(client, D + 2 * DAY)
    assert (shown["state"], shown["unpaid"]) == ("waiting", "0.00")  # what it waited for has been paid
    assert [answered(client, D + n * DAY)["state"] for n in range(4)] == ["paid", "paid", "waiting", "paid"]
    clock.advance(hours=24)
    [after] = settlement.settle(engine, bank, D + 4 * DAY, card_of=card_of)
    assert (after["state"], after["net"]) == ("nothing", 0)  # nothing owed, nothing pending: nothing
    assert_books_clean(engine)


def test_a_failed_payout_tells_why_and_when_it_is_paid_again(client, engine, clock):
    _payer, me = make_customer(client, engine, "15011112222", "067", 1_000_00)
    merchant_id, shop = make_merchant(client)
    bank = SandboxBank(BANK_KEY, reserve_balance=0)  # the reserve account cannot fund the payout
    pay(client, me, merchant_id, shop, "100.00")
    clock.advance(hours=24)
    settlement.settle(engine, bank, D, card_of=card_of)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    failed = answered(client, D)
    assert (failed["state"], failed["failure_reason"], failed["retried_on"]) == (
        "failed",
        "reserve_insufficient",
        (D + DAY).isoformat(),  # the next date to settle pays it again
    )
    assert failed["unpaid"] == "99.40"

    bank.fund_reserve(10_000_00)
    clock.advance(hours=24)
    [next_day] = settlement.settle(engine, bank, D + DAY, card_of=card_of)
    assert next_day["net"] == 99_40  # the failed payout paid with the next settlement
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    failed = answered(client, D)
    assert (failed["state"], failed["retried_on"], failed["unpaid"]) == ("failed", (D + DAY).isoformat(), "0.00")
    paid = answered(client, D + DAY)
    assert (paid["state"], paid["failure_reason"], paid["retried_on"], paid["carried"]) == ("paid", None, None, "99.40")
    assert bank.card_balance(CARD_MERCHANT) == 99_40
    assert_books_clean(engine)


def test_a_failed_payout_of_a_suspended_merchant_waits_for_it(client, engine, clock):
    _payer, me = make_customer(client, engine, "15011112222", "067", 1_000_00)
    merchant_id, shop = make_merchant(client)
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    pay(client, me, merchant_id, shop, "100.00")
    bank.set_frozen(CARD_MERCHANT)
    clock.advance(hours=24)
    settlement.settle(engine, bank, D, card_of=card_of)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    assert (answered(client, D)["failure_reason"], answered(client, D)["retried_on"]) == (
        "card_frozen",
        (D + DAY).isoformat(),
    )
    suspended = client.put(
        f"/v1/merchants/{merchant_id}/status", headers=ADMIN, json={"status": "suspended", "reason": "inquiry"}
    )
    assert suspended.status_code == 200, suspended.text
    assert answered(client, D)["retried_on"] is None  # a suspended merchant is not settled
