"""A core enterprise pays its payables from money it set aside through the API, on SQLite and PostgreSQL.

A new user found no way to do it: a merchant's top-up lands in its refund funds, the maturity payment drew on the
wallet alone, and settlement empties the wallet T+1, so every financed receivable turned overdue. Now the core
tops up its payables funds (兑付资金) from its settlement account through the bank, the maturity run and its own
payment draw on them first and on the wallet for the rest, and what no payable needs goes back to its bank. Bad
input and callers who are not a core are refused with nothing changed; the ledger audit passes throughout."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.notifying_bank import notifying_bank
from tests.supplychain.test_supplychain_http import (  # noqa: F401 - fixtures
    ADMIN,
    TODAY,
    assert_audit_clean,
    balance,
    client,
    confirm,
    fund,
    mature_cli,
    over,
    post,
    snapshot,
    world,
)

FUNDS = "/v1/supplychain/core-enterprises/me/payables-funds"
ACCOUNT = "110060774018010012345"  # every test merchant's settlement account (`merchant` in the HTTP tests)


@pytest.fixture
def bank(client):  # noqa: F811 - the fixture
    """The sandbox bank, posting its signed notifications to the app; the core has 300,000.00 at its bank."""
    return notifying_bank(client, ACCOUNT, 300_000_00, 10_000_000_00)


def answered(bank, clock) -> None:  # type: ignore[no-untyped-def]
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))


def test_a_core_sets_money_aside_and_its_payables_are_paid_from_it(client, engine, clock, db_url, world, bank):  # noqa: F811
    w = world
    financed = confirm(client, w["core"], w["a_id"], "100000.00", 30, "INV-F-1").json()["id"]
    plain = confirm(client, w["core"], w["b_id"], "20000.00", 30, "INV-P-1").json()["id"]
    assert post(client, f"/v1/supplychain/receivables/{financed}/financing", w["a"], "fin-1").status_code == 201
    own = client.get("/v1/supplychain/core-enterprises/me", headers=w["core"])
    assert own.status_code == 200 and own.json()["merchant_id"] == w["core_id"], own.text
    assert (own.json()["used"], own.json()["available"]) == ("120000.00", "880000.00")
    not_core = client.get("/v1/supplychain/core-enterprises/me", headers=w["a"])
    assert (not_core.status_code, not_core.json()["code"]) == (404, "core_enterprise_not_found")
    empty = client.get(FUNDS, headers=w["core"])
    assert empty.status_code == 200, empty.text
    assert {k: empty.json()[k] for k in ("available", "pending_in", "pending_out", "top_ups", "withdrawals")} == {
        "available": "0.00",
        "pending_in": "0.00",
        "pending_out": "0.00",
        "top_ups": [],
        "withdrawals": [],
    }

    top = post(client, f"{FUNDS}/top-ups", w["core"], "ptu-1", {"amount": "110000.00"})
    assert top.status_code == 202, top.text
    order = top.json()
    assert (order["kind"], order["status"], order["amount"], order["card_id"]) == (
        "top_up",
        "pending",
        "110000.00",
        "settlement_account",
    )
    again = post(client, f"{FUNDS}/top-ups", w["core"], "ptu-1", {"amount": "110000.00"})
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == order["id"]
    pending = client.get(FUNDS, headers=w["core"]).json()
    assert (pending["available"], pending["pending_in"]) == ("0.00", "110000.00")
    answered(bank, clock)  # the bank debits the core's account and notifies
    assert bank.card_balance(ACCOUNT) == 300_000_00 - 110_000_00
    shown = client.get(FUNDS, headers=w["core"]).json()
    assert (shown["available"], shown["pending_in"]) == ("110000.00", "0.00")
    assert [(o["id"], o["status"]) for o in shown["top_ups"]] == [(order["id"], "succeeded")]
    # the refund funds are apart: their top-ups list shows none of it
    assert client.get("/v1/merchants/me/top-ups", headers=w["core"]).json() == {"top_ups": []}
    assert_audit_clean(engine)

    # 10,000.00 of takings in the wallet too: the payables funds pay first, the wallet the rest
    fund(engine, w["core_id"], 10_000_00, "takings")
    over(clock, TODAY + dt.timedelta(days=30))
    summary = mature_cli(db_url, TODAY + dt.timedelta(days=30))
    assert (summary["due"], summary["paid"], summary["overdue"]) == (2, 2, 0)
    assert balance(engine, f"payables_funds.{w['core_id']}") == 0
    assert balance(engine, f"wallet.{w['core_id']}") == 10_000_00 - 10_000_00
    assert balance(engine, f"scf.{financed}") == 0
    assert balance(engine, f"wallet.{w['b_id']}") == 20_000_00
    # 100,000.00 × 6% × 30 / 360 = 500.00, recognised now
    assert balance(engine, "platform.discount_income.CNY") == 500_00
    got = {r["id"]: r for r in client.get("/v1/supplychain/receivables", headers=ADMIN).json()}
    assert (got[financed]["status"], got[financed]["paid_to"]) == ("paid", "platform")
    assert (got[plain]["status"], got[plain]["paid_to"]) == ("paid", "supplier")
    assert_audit_clean(engine)


def test_the_core_pays_itself_from_its_funds_and_takes_back_what_is_left(client, engine, clock, world, bank):  # noqa: F811
    w = world
    rid = confirm(client, w["core"], w["a_id"], "5000.00", 30, "INV-S-1").json()["id"]
    assert post(client, f"{FUNDS}/top-ups", w["core"], "ptu-s", {"amount": "8000.00"}).status_code == 202
    answered(bank, clock)
    over(clock, TODAY + dt.timedelta(days=30))
    paid = post(client, f"/v1/supplychain/receivables/{rid}/payment", w["core"], "pay-s")
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["paid_to"]) == ("paid", "supplier")
    assert balance(engine, f"wallet.{w['a_id']}") == 5_000_00
    assert balance(engine, f"payables_funds.{w['core_id']}") == 3_000_00

    # more than is left is refused, with what is available, and changes nothing
    before = snapshot(engine)
    greedy = post(client, f"{FUNDS}/withdrawals", w["core"], "pw-greedy", {"amount": "3000.01"})
    assert greedy.status_code == 409, greedy.text
    assert (greedy.json()["code"], greedy.json()["available"]) == ("payables_funds_insufficient", "3000.00")
    assert snapshot(engine) == before

    back = post(client, f"{FUNDS}/withdrawals", w["core"], "pw-1", {"amount": "3000.00"})
    assert back.status_code == 202, back.text
    held = client.get(FUNDS, headers=w["core"]).json()
    assert (held["available"], held["pending_out"]) == ("0.00", "3000.00")
    answered(bank, clock)
    assert bank.card_balance(ACCOUNT) == 300_000_00 - 8_000_00 + 3_000_00
    done = client.get(FUNDS, headers=w["core"]).json()
    assert (done["available"], done["pending_out"]) == ("0.00", "0.00")
    assert [o["status"] for o in done["withdrawals"]] == ["succeeded"]
    assert_audit_clean(engine)


def test_without_enough_set_aside_the_receivable_turns_overdue(client, engine, clock, db_url, world, bank):  # noqa: F811
    w = world
    rid = confirm(client, w["core"], w["a_id"], "5000.00", 30, "INV-O-1").json()["id"]
    assert post(client, f"{FUNDS}/top-ups", w["core"], "ptu-o", {"amount": "3000.00"}).status_code == 202
    answered(bank, clock)
    fund(engine, w["core_id"], 1_999_99, "takings")  # 3,000.00 + 1,999.99: a fen short
    over(clock, TODAY + dt.timedelta(days=30))
    summary = mature_cli(db_url, TODAY + dt.timedelta(days=30))
    assert (summary["paid"], summary["overdue"]) == (0, 1)
    before = snapshot(engine)
    short = post(client, f"/v1/supplychain/receivables/{rid}/payment", w["core"], "pay-short")
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_funds")
    assert "4999.99 CNY" in short.json()["detail"] and f"{FUNDS}/top-ups" in short.json()["detail"]
    assert snapshot(engine) == before
    assert balance(engine, f"payables_funds.{w['core_id']}") == 3_000_00
    assert_audit_clean(engine)


def test_bad_input_and_callers_that_are_no_core_are_refused_and_change_nothing(client, engine, clock, world, bank):  # noqa: F811
    w = world
    before = snapshot(engine)
    for body in ({"amount": "0.00"}, {"amount": "-1.00"}, {"amount": "1.001"}, {"amount": 150}, {}, {"into": "x"}):
        bad = post(client, f"{FUNDS}/top-ups", w["core"], f"bad-{body}", body)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json"), body
    huge = post(client, f"{FUNDS}/top-ups", w["core"], "huge", {"amount": "5000000.01"})
    assert (huge.status_code, huge.json()["code"]) == (422, "amount_above_order_maximum")
    for path in ("/top-ups", "/withdrawals"):  # a supplier is no core enterprise
        not_core = post(client, f"{FUNDS}{path}", w["a"], f"nc{path}", {"amount": "1.00"})
        assert (not_core.status_code, not_core.json()["code"]) == (404, "core_enterprise_not_found")
        assert post(client, f"{FUNDS}{path}", ADMIN, f"staff{path}", {"amount": "1.00"}).status_code == 403
        assert client.post(f"{FUNDS}{path}", json={"amount": "1.00"}).status_code == 401
    assert client.get(FUNDS, headers=w["a"]).json()["code"] == "core_enterprise_not_found"
    assert snapshot(engine) == before
    assert bank.card_balance(ACCOUNT) == 300_000_00
