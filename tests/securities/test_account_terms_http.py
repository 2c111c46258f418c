"""A brokerage account's terms are the platform's and staff's, never the customer's own, on SQLite and
PostgreSQL. The defect: a customer opened an account with `{"commission_rate": "0.00001",
"chinext_permitted": true, "star_permitted": true}` and got all three, so any order paid only the 5.00
CNY minimum commission. Now the opening body takes no terms (422, nothing written); a new account has the
platform's rate (0.025%), which a large order pays in full; operators (not customers, not other staff)
set a rate above 0 and at most 0.3%, and grant a ChiNext or STAR permission only when the account's
average daily assets over the 20 trading days before the application reach the board's threshold
(100,000 / 500,000 CNY; else 409 `board_permission_not_eligible`); every such call is audited and
idempotent."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from puhui.db import transaction
from puhui.db.tables import audit_log, outbox
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers
from puhui.securities import accounts as brokerage
from tests.identity.helpers import ADMIN, LI, ZHANG, login, make_staff, register
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    WALLET,
    assert_audit_clean,
    asset_history,
    call,
    cash,
    client,
    deposit,
    investor,
    order,
    problem,
    snapshot,
    take_questionnaire,
)

DEFECT = {"chinext_permitted": True, "star_permitted": True, "commission_rate": "0.00001"}


def audited(engine, action: str, target: str) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """(status, principal) of each audit row of `action` on `target`, oldest first."""
    query = (
        select(audit_log.c.status_code, audit_log.c.principal)
        .where(audit_log.c.action == action, audit_log.c.target == target)
        .order_by(audit_log.c.seq)
    )
    with engine.connect() as connection:
        return [(int(status), principal) for status, principal in connection.execute(query)]


def events(engine, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        query = select(outbox.c.payload).where(outbox.c.type == kind).order_by(outbox.c.seq)
        return [json.loads(row[0]) for row in connection.execute(query)]


def customer_with_wallet(client, engine, person: dict) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    """A registered customer with a funded wallet and a current risk assessment, and no brokerage account yet."""
    created = register(client, person)
    top_up = Transfer(
        f"fund.{created['id']}", "platform.reserve_bank.CNY", created["wallet_account_id"], WALLET, "CNY", "top_up"
    )
    assert [r.value for r in transaction(engine, lambda uow: create_transfers(uow, [top_up]))] == ["ok"]
    me = login(client, person)
    take_questionnaire(client, me, created["id"])
    return created["id"], me


def operator(client, handle: str = "operator.terms") -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    """A new operator: its id (the audit log's principal) and its headers."""
    made = client.post("/v1/staff", headers=ADMIN, json={"handle": handle, "role": "operator"})
    assert made.status_code == 201, made.text
    return made.json()["id"], {"Authorization": f"Bearer {made.json()['token']}"}


@pytest.mark.parametrize(
    "body",
    [
        DEFECT,
        {"commission_rate": "0"},
        {"commission_rate": "0.00025"},  # even the platform's own rate: the customer sends no terms
        {"chinext_permitted": True},
        {"star_permitted": True},
    ],
)
def test_a_customers_own_rate_and_permissions_are_refused_and_change_nothing(client, engine, clock, body):
    zhang, z = customer_with_wallet(client, engine, ZHANG)
    before = snapshot(engine)
    problem(call(client, "/v1/securities/accounts", z, "open-with-terms", body), 422, "invalid_request")
    assert snapshot(engine) == before  # no account, no ledger account, no event
    problem(client.get("/v1/securities/account", headers=z), 404, "securities_account_not_found")

    opened = call(client, "/v1/securities/accounts", z, "open", {})
    assert opened.status_code == 201, opened.text
    terms = {k: opened.json()[k] for k in ("commission_rate", "chinext_permitted", "star_permitted")}
    assert terms == {"commission_rate": "0.00025", "chinext_permitted": False, "star_permitted": False}
    before = snapshot(engine)
    problem(call(client, "/v1/securities/accounts", z, "again-with-terms", body), 422, "invalid_request")
    assert snapshot(engine) == before
    summary = client.get("/v1/securities/account", headers=z).json()
    assert {k: summary[k] for k in terms} == terms


def test_a_large_order_pays_the_platforms_rate_not_the_minimum(client, engine, clock):
    zhang, z = customer_with_wallet(client, engine, ZHANG)
    problem(call(client, "/v1/securities/accounts", z, "open-defect", DEFECT), 422, "invalid_request")
    opened = call(client, "/v1/securities/accounts", z, "open", {})
    assert opened.status_code == 201 and opened.json()["commission_rate"] == "0.00025", opened.text
    again = call(client, "/v1/securities/accounts", z, "open-again", {})  # another key: nothing new is opened
    assert again.status_code == 200 and again.json() == opened.json(), again.text
    moved = call(client, "/v1/securities/transfers", z, "in", {"direction": "in", "amount": "150000.00"})
    assert moved.status_code == 201, moved.text
    li, lee = investor(client, engine, LI, 10_00)
    deposit(engine, li, "600519", 100)
    assert order(client, lee, "s1", "sell", 100, "1450.00", "600519").status_code == 201
    buy = order(client, z, "b1", "buy", 100, "1450.00", "600519").json()
    # 100 × 1450.00 = 145,000.00; commission 145,000.00 × 0.025% = 36.25, not the 5.00 minimum
    assert (buy["status"], buy["value"], buy["commission"], buy["transfer_fee"]) == (
        "filled",
        "145000.00",
        "36.25",
        "1.45",
    )
    assert cash(engine, brokerage.cash_account(zhang)) == 150_000_00 - 145_000_00 - 36_25 - 1_45
    assert_audit_clean(engine)


def test_staff_set_the_rate_audited_and_idempotent_and_orders_pay_it(client, engine, clock):
    zhang, z = investor(client, engine, ZHANG, 150_000_00)
    operator_id, staff = operator(client)
    path = f"/v1/securities/accounts/{zhang}/commission"
    before = snapshot(engine)
    for n, rate in enumerate(("0", "0.0", "0.000000", "0.0031", "0.004", "0.01", "-0.0001", "0.0000001", 0.0003)):
        problem(call(client, path, staff, f"bad-{n}", {"commission_rate": rate}), 422, "invalid_request")
    problem(
        call(client, path, staff, "extra", {"commission_rate": "0.0003", "star_permitted": True}),
        422,
        "invalid_request",
    )
    assert snapshot(engine) == before

    set_rate = call(client, path, staff, "rate-1", {"commission_rate": "0.0003"})
    assert set_rate.status_code == 200 and set_rate.json()["commission_rate"] == "0.0003", set_rate.text
    assert set_rate.json()["customer_id"] == zhang and set_rate.json()["chinext_permitted"] is False
    replayed = call(client, path, staff, "rate-1", {"commission_rate": "0.0003"})
    assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == set_rate.json()
    assert audited(engine, "securities.set_commission_rate", zhang) == [(200, operator_id)]
    assert events(engine, "securities.commission_rate_changed") == [
        {"customer_id": zhang, "commission_rate": "0.0003", "previous": "0.00025"}
    ]
    assert client.get("/v1/securities/account", headers=z).json()["commission_rate"] == "0.0003"

    li, lee = investor(client, engine, LI, 10_00)
    deposit(engine, li, "600519", 100)
    assert order(client, lee, "s1", "sell", 100, "1450.00", "600519").status_code == 201
    buy = order(client, z, "b1", "buy", 100, "1450.00", "600519").json()
    assert (buy["status"], buy["commission"]) == ("filled", "43.50")  # 145,000.00 × 0.03%
    seller = client.get("/v1/securities/orders", headers=lee).json()["orders"][0]
    assert seller["commission"] == "36.25"  # the seller's rate is still the platform's

    # an admin may set it too, to the cap; an account that is not there is a 404
    capped = call(client, path, ADMIN, "rate-cap", {"commission_rate": "0.003000"})
    assert capped.status_code == 200 and capped.json()["commission_rate"] == "0.003", capped.text
    nobody = "/v1/securities/accounts/cus_nobody/commission"
    problem(call(client, nobody, staff, "rate-x", {"commission_rate": "0.0003"}), 404, "securities_account_not_found")
    assert [status for status, _ in audited(engine, "securities.set_commission_rate", "cus_nobody")] == [404]
    assert_audit_clean(engine)


def test_a_customer_and_other_staff_cannot_call_the_staff_routes(client, engine, clock):
    zhang, z = investor(client, engine, ZHANG, 200_000_00)
    deposit(engine, zhang, "600519", 300)  # 200,000.00 + 435,000.00: enough for both boards
    regulator = make_staff(client, "regulator")
    before = snapshot(engine)
    for n, headers in enumerate((z, regulator)):
        for what, body in (
            ("commission", {"commission_rate": "0.00001"}),
            ("permissions", {"board": "chinext", "permitted": True}),
            ("permissions", {"board": "star", "permitted": True}),
        ):
            answer = call(client, f"/v1/securities/accounts/{zhang}/{what}", headers, f"{what}-{n}-{body}", body)
            problem(answer, 403, "forbidden")
    assert snapshot(engine) == before
    summary = client.get("/v1/securities/account", headers=z).json()
    assert (summary["commission_rate"], summary["chinext_permitted"], summary["star_permitted"]) == (
        "0.00025",
        False,
        False,
    )
    problem(order(client, z, "cyb", "buy", 100, "380.00", "300750"), 403, "board_not_permitted")


def test_staff_grant_a_board_only_when_the_20_day_average_reaches_its_threshold(client, engine, clock):
    zhang, z = investor(client, engine, ZHANG, 1_000_00)
    operator_id, staff = operator(client)
    path = f"/v1/securities/accounts/{zhang}/permissions"
    chinext, star = {"board": "chinext", "permitted": True}, {"board": "star", "permitted": True}
    problem(order(client, z, "cyb-0", "buy", 100, "1.00", "300750"), 403, "board_not_permitted")

    before = snapshot(engine)
    refused = call(client, path, staff, "chinext-1", chinext)
    problem(refused, 409, "board_permission_not_eligible")
    detail = refused.json()["detail"]
    assert "at least 100000.00 CNY over the 20 trading days before the application" in detail
    assert "(2026-11-05 to 2026-12-02)" in detail and "20-day average is 0.00 CNY (0 of the 20 days" in detail
    for n, body in enumerate(
        ({"board": "main", "permitted": True}, {"board": "chinext"}, {"board": "star", "permitted": 1})
    ):
        problem(call(client, path, staff, f"bad-{n}", body), 422, "invalid_request")
    assert snapshot(engine) == before
    assert client.get("/v1/securities/account", headers=z).json()["chinext_permitted"] is False

    # 1,000.00 + 99,000.00 = 100,000.00 today, some of it frozen under an open bid: still the customer's,
    # but moved in today it is no 20-day average (前20个交易日日均资产): still refused
    moved = call(client, "/v1/securities/transfers", z, "in-2", {"direction": "in", "amount": "99000.00"})
    assert moved.status_code == 201, moved.text
    bid = order(client, z, "bid", "buy", 100, "10.00").json()
    assert (bid["status"], bid["frozen_cash"]) == ("open", "1005.01")  # 1,000.00, 5.00 commission, 0.01 fee
    problem(call(client, path, staff, "chinext-today", chinext), 409, "board_permission_not_eligible")
    asset_history(engine, zhang)  # those 100,000.00 at each of the 20 trading days' close before today
    granted = call(client, path, staff, "chinext-2", chinext)
    assert granted.status_code == 200, granted.text
    assert (granted.json()["chinext_permitted"], granted.json()["star_permitted"]) == (True, False)
    assert call(client, path, staff, "chinext-2", chinext).headers["Idempotent-Replayed"] == "true"
    problem(order(client, z, "cyb-1", "buy", 100, "1.00", "300750"), 422, "price_outside_band")  # past the permission

    refused = call(client, path, staff, "star-1", star)
    problem(refused, 409, "board_permission_not_eligible")
    assert "500000.00" in refused.json()["detail"] and "20-day average is 100000.00 CNY" in refused.json()["detail"]
    assert (refused.json()["average_daily_assets"], refused.json()["threshold"]) == ("100000.00", "500000.00")
    li, lee = investor(client, engine, LI, 100_000_00)
    deposit(engine, li, "600519", 300)  # 300 × 1450.00 (its previous close) = 435,000.00: 535,000.00 in all
    asset_history(engine, li)
    granted = call(client, f"/v1/securities/accounts/{li}/permissions", ADMIN, "star-2", star)
    assert granted.status_code == 200 and granted.json()["star_permitted"] is True, granted.text
    problem(order(client, lee, "kcb-1", "buy", 200, "1.00", "688981"), 422, "price_outside_band")

    revoked = call(client, path, staff, "chinext-3", {"board": "chinext", "permitted": False})
    assert revoked.status_code == 200 and revoked.json()["chinext_permitted"] is False, revoked.text
    problem(order(client, z, "cyb-2", "buy", 100, "1.00", "300750"), 403, "board_not_permitted")

    assert audited(engine, "securities.grant_chinext", zhang) == [(409, operator_id)] * 2 + [(200, operator_id)]
    assert [status for status, _ in audited(engine, "securities.grant_star", zhang)] == [409]
    assert [status for status, _ in audited(engine, "securities.grant_star", li)] == [200]
    assert audited(engine, "securities.revoke_chinext", zhang) == [(200, operator_id)]
    assert [(e["board"], e["permitted"]) for e in events(engine, "securities.board_permission_changed")] == [
        ("chinext", True),
        ("star", True),
        ("chinext", False),
    ]
    assert_audit_clean(engine)
