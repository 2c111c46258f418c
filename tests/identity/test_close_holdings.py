"""Closing a customer (注销) while anything is open, on SQLite and PostgreSQL: a loan still owed, brokerage
cash and shares, money-market units and a subscription waiting for confirmation each keep the account
open. The close is refused (409 `account_has_holdings`, each open item listed by kind with its account,
loan or order id and amount, no personal value) and changes nothing: the customer stays active, their
personal data intact, and they can still log in. Once everything is settled to zero the close succeeds."""

from __future__ import annotations

import datetime as dt

import pytest

from puhui.db import reading, transaction
from puhui.identity import closing
from puhui.ledger import service as ledger
from puhui.ledger.models import Transfer
from puhui.lending import repayments
from puhui.lending import service as lending
from puhui.payments import reserve
from puhui.securities import accounts as brokerage
from puhui.securities import orders as securities_orders
from puhui.wealth import units as mmf_funds
from puhui.wealth.mmf import service as mmf
from puhui.wealth.suitability.service import CURRENT, record_answers
from tests.console.world import verify
from tests.lending.credit_model import credit_model  # noqa: F401 - the fixture: loans need a credit model
from tests.lending.lending_world import INCOME, MONTHLY
from tests.wealth.test_suitability import answers_with

from .helpers import ADMIN, ZHANG, login, register, snapshot
from .test_api import RESERVE, is_problem

FUND = "YEBTEST"


def run(engine, work):  # type: ignore[no-untyped-def]
    return transaction(engine, work)


def customer_with_money(client, engine) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    """A verified (class III) customer with 20,000.00 in the wallet and a current risk assessment."""
    customer_id = register(client, ZHANG)["id"]
    verify(client, customer_id)
    run(
        engine,
        lambda uow: ledger.create_transfers(
            uow, [Transfer(f"topup.{customer_id}", RESERVE, f"wallet.{customer_id}", 20_000_00, "CNY", "topup")]
        ),
    )
    highest = answers_with(lambda q: max(range(len(q.choices)), key=lambda i: q.choices[i].score))
    run(engine, lambda uow: record_answers(uow, customer_id, CURRENT.version, highest))
    return customer_id, login(client, ZHANG)


def take_loan(engine, customer_id: str) -> str:  # type: ignore[no-untyped-def]
    run(engine, lambda uow: reserve.inject_capital(uow, "capital.close", 10_000_000_00))
    run(engine, lambda uow: lending.create_product(uow, MONTHLY))
    application = run(engine, lambda uow: lending.apply(uow, customer_id, MONTHLY["code"], 2518_42, 12, INCOME))
    assert application["decision"] == "approved", application
    offer = run(engine, lambda uow: lending.make_offer(uow, application["id"], customer_id))
    return run(engine, lambda uow: lending.accept(uow, offer["id"], customer_id))["id"]


def buy_money_market(engine, customer_id: str, amount: int, client_id: str) -> dict:  # type: ignore[no-untyped-def]
    run(engine, lambda uow: mmf_funds.create_fund(uow, FUND, "测试货币基金"))
    order, _ = run(engine, lambda uow: mmf.subscribe(uow, customer_id, FUND, amount, client_id))
    return order


def confirm(engine, order: dict) -> None:  # type: ignore[no-untyped-def]
    due = dt.date.fromisoformat(order["due_date"])
    assert run(engine, lambda uow: mmf.confirm_due(uow, FUND, due)) >= 1


@pytest.mark.usefixtures("credit_model")
def test_a_customer_with_a_loan_securities_and_fund_units_cannot_close(client, engine, clock):
    customer_id, me = customer_with_money(client, engine)
    loan_id = take_loan(engine, customer_id)
    run(engine, lambda uow: brokerage.open_account(uow, customer_id))
    run(engine, lambda uow: brokerage.transfer(uow, customer_id, "in", 3937_44, "in.1"))
    run(engine, lambda uow: securities_orders.deposit_shares(uow, customer_id, "600000", 100, f"d.{customer_id}"))
    confirm(engine, buy_money_market(engine, customer_id, 1000_00, "s.1"))
    waiting = buy_money_market(engine, customer_id, 200_00, "s.2")  # not confirmed yet

    before = snapshot(engine)
    for who in (me, ADMIN):
        refused = client.post(f"/v1/customers/{customer_id}/close", headers=who, json={"reason": "不用了"})
        is_problem(refused, 409, "account_has_holdings")
        assert snapshot(engine) == before  # nothing changed, the wallet not even flagged closed

    holdings = {(h["kind"], h["reference"]): h for h in refused.json()["holdings"]}
    assert holdings[("loan", loan_id)]["amount"] == "2518.42"
    assert holdings[("brokerage_cash", f"sec.cash.{customer_id}")]["amount"] == "3937.44"
    assert holdings[("shares", f"sec.600000.{customer_id}")]["amount"] == "100"
    assert holdings[("money_market_units", f"mmf.{FUND}.{customer_id}")]["amount"] == "1000.00"
    assert holdings[("mmf_order", waiting["id"])]["amount"] == "200.00"
    assert ("wallet", f"wallet.{customer_id}") in holdings  # the rest of the wallet is listed beside them
    for value in (ZHANG["name"], ZHANG["phone"], ZHANG["id_number"], ZHANG["address"]):
        assert value not in refused.text  # no personal data in the problem

    mine = client.get(f"/v1/customers/{customer_id}", headers=me)  # personal data intact (masked on output)
    assert mine.status_code == 200 and mine.json()["status"] == "active"
    assert mine.json()["phone"] is not None and not mine.json()["name"].startswith("已注销用户-")
    assert login(client, ZHANG)  # still logs in


@pytest.mark.usefixtures("credit_model")
def test_once_everything_is_settled_to_zero_the_close_succeeds(client, engine, clock):
    customer_id, me = customer_with_money(client, engine)
    loan_id = take_loan(engine, customer_id)
    run(engine, lambda uow: brokerage.open_account(uow, customer_id))
    run(engine, lambda uow: brokerage.transfer(uow, customer_id, "in", 3937_44, "in.1"))
    confirm(engine, buy_money_market(engine, customer_id, 1000_00, "s.1"))

    def refused_kinds() -> set[str]:
        answer = client.post(f"/v1/customers/{customer_id}/close", headers=me)
        is_problem(answer, 409, "account_has_holdings")
        return {h["kind"] for h in answer.json()["holdings"]} - {"wallet"}

    assert refused_kinds() == {"loan", "brokerage_cash", "money_market_units"}
    run(engine, lambda uow: repayments.repay(uow, loan_id, customer_id, None, "early_full"))
    assert refused_kinds() == {"brokerage_cash", "money_market_units"}
    run(engine, lambda uow: brokerage.transfer(uow, customer_id, "out", 3937_44, "out.1"))
    assert refused_kinds() == {"money_market_units"}
    run(engine, lambda uow: mmf.redeem(uow, customer_id, FUND, 1000_00, "r.1", fast=True))

    with reading(engine) as connection:  # only the wallet is left: the old refusal, as before
        assert [h.kind for h in closing.open_holdings(connection, customer_id)] == ["wallet"]
        left = ledger.get_account(connection, f"wallet.{customer_id}")
        assert left is not None
        balance = left.credits_posted - left.debits_posted
    is_problem(client.post(f"/v1/customers/{customer_id}/close", headers=me), 409, "wallet_not_empty")
    run(
        engine,
        lambda uow: ledger.create_transfers(
            uow, [Transfer(f"out.{customer_id}", f"wallet.{customer_id}", RESERVE, balance, "CNY", "withdraw")]
        ),
    )
    closed = client.post(f"/v1/customers/{customer_id}/close", headers=me, json={"reason": "moving abroad"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["phone"] is None


def test_the_app_registers_the_business_forms_checks_once(client):
    names = [check.__name__ for check in closing.registered()]
    assert {"open_loan", "open_fund_order", "open_mmf_order", "open_insurance_policy"} <= set(names)
    assert len(names) == len(set(names))
