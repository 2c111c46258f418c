"""Corporate actions applied to the book (权益分派实施), on SQLite and PostgreSQL: staff announce
"10派3元送3.5股" on 600000 with record date Thursday 2026-12-03; when the book first opens Friday (the
ex-date) the holders at Thursday's close get their cash from the bank through the registrar's dividend
account, their bonus shares (the 零碎股 left over going to the largest fraction) on the unit ledger and
a lower cost basis, and the band is based on the reference price. Figures by hand; once only; the
audit passes; a bad announcement changes nothing."""

from __future__ import annotations

import json

import pytest

from puhui.db import reading
from puhui.ledger.service import get_account
from puhui.securities import gateway, instruments
from puhui.securities.distributions import DIVIDENDS_PAYABLE
from tests.identity.helpers import LI, ZHANG, login, make_staff
from tests.securities.test_brokerage_http import (  # noqa: F401 - the client fixture
    assert_audit_clean,
    at,
    call,
    cash,
    client,
    deposit,
    investor,
    order,
    position,
    problem,
    snapshot,
)

RESERVE = "platform.reserve_bank.CNY"
PLAN = {
    "code": "600000",
    "record_date": "2026-12-03",
    "ex_date": "2026-12-04",
    "cash_per_10": "3.00",
    "bonus_per_10": "3.5",
}


def shares(engine, account_id: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, account_id)
    return 0 if account is None else account.credits_posted - account.debits_posted


def holders_at_the_record(client, engine):  # type: ignore[no-untyped-def]
    """Thursday: Li holds 1,002 deposited shares and sells 500 to Zhang at 10.50; Zhang also deposits 33.
    At the close Zhang holds 533 (cost 5,255.05) and Li 502 (cost 0)."""
    zhang, z = investor(client, engine, ZHANG, 50_000_00)
    li, lee = investor(client, engine, LI, 1_000_00)
    deposit(engine, li, "600000", 1002)
    assert order(client, lee, "s1", "sell", 500).status_code == 201
    assert order(client, z, "b1", "buy", 500).json()["status"] == "filled"
    deposit(engine, zhang, "600000", 33)
    return zhang, z, li, lee


def announce(client, operator: dict, key: str, **changes: str):  # type: ignore[no-untyped-def]
    return call(client, "/v1/securities/corporate-actions", operator, key, {**PLAN, **changes})


def test_the_ex_date_pays_cash_and_bonus_shares_once_and_rebases_the_band(client, engine, clock):
    zhang, z, li, lee = holders_at_the_record(client, engine)
    operator = make_staff(client, "operator")
    announced = announce(client, operator, "ca-1")
    assert announced.status_code == 201, announced.text
    assert announced.json()["status"] == "announced" and announced.json()["reference_price"] is None
    assert announce(client, operator, "ca-1-again").json() == announced.json()  # same terms: the same action
    at(clock, 14, 0)  # still Thursday: nothing is applied before the ex-date
    assert call(client, "/v1/securities/market/advance", operator, "adv-thu").status_code == 200
    assert client.get("/v1/securities/corporate-actions", headers=z).json()["corporate_actions"][0]["status"] == (
        "announced"
    )
    cash_before = {c: cash(engine, f"sec.cash.{c}") for c in (zhang, li)}
    bank, issued = cash(engine, RESERVE), shares(engine, instruments.issued_account("600000"))

    at(clock, 9, 0, days=1)  # Friday, the ex-date, before the open: clearing Thursday applies it
    gateway._cache.clear()  # another worker: the book is rebuilt from the database
    cleared = call(client, "/v1/securities/clearing", operator, "clear-thu", {"business_date": "2026-12-03"})
    assert cleared.status_code == 200, cleared.text
    # cash 0.30 a share, down to the fen: 533 × 0.30 = 159.90, 502 × 0.30 = 150.60
    # bonus 0.35 a share: 186.55 and 175.70 → 186 and 175; the one 零碎股 (0.55 + 0.70 = 1.25) to Li's 0.70
    assert cash(engine, f"sec.cash.{zhang}") - cash_before[zhang] == 159_90
    assert cash(engine, f"sec.cash.{li}") - cash_before[li] == 150_60
    # the issuer's money came in through the bank, while clearing paid Thursday's levies (2.63 + 0.10) out
    assert bank - cash(engine, RESERVE) == 310_50 - 2_73
    assert cash(engine, DIVIDENDS_PAYABLE) == 0
    assert issued - shares(engine, instruments.issued_account("600000")) == 186 + 176
    z, lee = login(client, ZHANG), login(client, LI)
    # Zhang's cost 5,255.05 less the dividend 159.90; Li's 0 less 150.60; bonus shares sellable today
    assert position(client, z) == {
        "code": "600000",
        "total": 719,
        "available": 719,
        "frozen": 0,
        "cost_basis": "5095.15",
    }
    assert position(client, lee) == {
        "code": "600000",
        "total": 678,
        "available": 678,
        "frozen": 0,
        "cost_basis": "-150.60",
    }
    assert client.get("/v1/securities/distributions", headers=lee).json() == {
        "distributions": [{"code": "600000", "ex_date": "2026-12-04", "held": 502, "cash": "150.60", "shares": 176}]
    }
    applied = client.get("/v1/securities/corporate-actions?code=600000", headers=z).json()["corporate_actions"]
    # (10.50 − 0.30) ÷ 1.35 = 7.5555… → 7.56
    assert [(a["status"], a["reference_price"], a["holders"], a["cash_paid"], a["bonus_shares"]) for a in applied] == [
        ("applied", "7.56", 2, "310.50", 362)
    ]
    listed = client.get("/v1/securities/instruments", headers=z).json()["instruments"]
    assert next(i["previous_close"] for i in listed if i["code"] == "600000") == "7.56"

    again = snapshot(engine)
    assert (
        call(client, "/v1/securities/clearing", operator, "clear-thu-2", {"business_date": "2026-12-03"}).status_code
        == 200
    )
    assert call(client, "/v1/securities/market/advance", operator, "adv-fri").status_code == 200
    moved = snapshot(engine)
    moved.pop("securities_instruments"), again.pop("securities_instruments")  # the books' versions and moments
    assert moved == again  # no transfer, entitlement, position or account changed
    assert bank - cash(engine, RESERVE) == 310_50 - 2_73

    at(clock, 10, 0, days=1)
    # the band is now 7.56 ± 10%: 6.80 to 8.32; 10.00 (inside Thursday's band) is outside it
    problem(order(client, z, "s-high", "sell", 100, "10.00"), 422, "price_outside_band")
    problem(order(client, z, "s-over", "sell", 100, "8.33"), 422, "price_outside_band")
    assert order(client, lee, "s-bonus", "sell", 678, "8.32").status_code == 201  # the odd lot whole, bonus included
    assert order(client, z, "b-low", "buy", 100, "6.80").status_code == 201
    assert_audit_clean(engine)


def test_a_customers_first_order_on_the_ex_date_applies_it_without_clearing(client, engine, clock):
    zhang, z, li, lee = holders_at_the_record(client, engine)
    operator = make_staff(client, "operator")
    only_shares = announce(client, operator, "ca-shares", cash_per_10="0", bonus_per_10="10")  # 10送10
    assert only_shares.status_code == 201, only_shares.text
    bank = cash(engine, RESERVE)
    at(clock, 9, 16, days=1)  # Friday's opening auction
    gateway._cache.clear()
    bid = order(client, z, "b-auction", "buy", 100, "5.25")  # (10.50 − 0) ÷ 2 = 5.25: 10.50 is now outside
    assert bid.status_code == 201, bid.text
    problem(order(client, z, "b-old", "buy", 100, "10.50"), 422, "price_outside_band")
    assert position(client, login(client, LI))["total"] == 1004
    assert position(client, z)["total"] == 1066
    assert cash(engine, RESERVE) == bank and cash(engine, DIVIDENDS_PAYABLE) == 0  # no cash: nothing moved
    assert_audit_clean(engine)


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"ex_date": "2026-12-07"}, 422, "corporate_action_invalid"),  # not the next trading day
        ({"record_date": "2026-12-02", "ex_date": "2026-12-03"}, 422, "corporate_action_invalid"),  # past
        ({"record_date": "2026-12-05", "ex_date": "2026-12-07"}, 422, "corporate_action_invalid"),  # a Saturday
        ({"cash_per_10": "0", "bonus_per_10": "0"}, 422, "corporate_action_invalid"),  # pays nothing
        ({"cash_per_10": "105.00"}, 422, "corporate_action_invalid"),  # 10.50 a share: not below the price
        ({"code": "600001"}, 422, "unknown_instrument"),
        ({"bonus_per_10": "2"}, 409, "corporate_action_exists"),  # other terms for the same ex-date
        ({"cash_per_10": "-1"}, 422, "invalid_request"),
    ],
)
def test_a_bad_announcement_is_refused_and_changes_nothing(client, engine, clock, changes, status, code):
    holders_at_the_record(client, engine)
    operator = make_staff(client, "operator")
    assert announce(client, operator, "first").status_code == 201
    before = snapshot(engine)
    problem(announce(client, operator, "bad", **changes), status, code)
    assert snapshot(engine) == before


def test_customers_may_not_announce(client, engine, clock):
    _, z, _, _ = holders_at_the_record(client, engine)
    before = snapshot(engine)
    problem(announce(client, z, "mine"), 403, "forbidden")
    assert snapshot(engine) == before


def test_the_dividend_command_announces(client, engine, clock, db_url):
    from typer.testing import CliRunner

    from puhui.cli import app

    holders_at_the_record(client, engine)
    args = ["securities", "dividend", "--code", "600000", "--record-date", "2026-12-03", "--ex-date", "2026-12-04"]
    done = CliRunner().invoke(app, [*args, "--cash-per-10", "3.00", "--bonus-per-10", "3.5", "--db", db_url])
    assert done.exit_code == 0, done.output
    answer = json.loads(done.output)
    assert (answer["code"], answer["cash_per_10"], answer["bonus_per_10"], answer["status"]) == (
        "600000",
        "3.00",
        "3.5",
        "announced",
    )
    refused = CliRunner().invoke(app, [*args[:-1], "2026-12-07", "--cash-per-10", "3.00", "--db", db_url])
    assert refused.exit_code != 0 and "corporate_action_invalid" in refused.output
