"""Reconciliation on SQLite and PostgreSQL: the sandbox bank's statement for D against the
platform's bank orders. A clean day gives zero exceptions (twice); each injected statement fault
gives exactly the expected exception; resolving it moves money only through the ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from puhui.db import transaction
from puhui.errors import Conflict, NotFound
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers
from puhui.payments import reconciliation, settlement, wallets
from puhui.payments.bank.channel import OrderKind
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_RICH
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    BANK_KEY,
    D,
    assert_books_clean,
    balance,
    card_of,
    client,
    make_customer,
    make_merchant,
    pay,
    transfer_count,
)


def order(engine, bank, customer_id: str, kind: OrderKind, fen: int, client_id: str, submit: bool = True) -> str:
    row = transaction(engine, lambda uow: wallets.open_order(uow, customer_id, "card_1", kind, fen, client_id))
    if submit:
        assert wallets.submit(bank, row["id"], CARD_RICH, kind, fen)
    return row["id"]


@pytest.fixture
def day(client, engine, clock):  # noqa: F811 - the imported fixture
    """Day D: two top-ups, a withdrawal, all posted on D; yesterday's merchant settlement paid on D."""
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    customer_id, phone = make_customer(client, engine, "13812345678", "531", 0)
    merchant_id, shop = make_merchant(client)
    ids = {
        "top_up_1": order(engine, bank, customer_id, OrderKind.debit_card, 1_000_00, "t1"),
        "top_up_2": order(engine, bank, customer_id, OrderKind.debit_card, 500_00, "t2"),
    }
    clock.advance(minutes=5)
    wallets.recover_pending_orders(engine, bank)
    ids["withdrawal"] = order(engine, bank, customer_id, OrderKind.credit_card, 300_00, "w1")
    pay(client, phone, merchant_id, shop, "100.00")
    clock.advance(minutes=5)
    wallets.recover_pending_orders(engine, bank)
    return {"bank": bank, "customer_id": customer_id, "ids": ids, "merchant_id": merchant_id}


def test_clean_day_has_no_exceptions_and_is_idempotent(day, engine, clock):
    bank = day["bank"]
    clock.advance(hours=24)
    statement = bank.statement(D)
    assert len(reconciliation.parse_statement(statement, D)) == 3
    assert reconciliation.reconcile(engine, D, statement) == []
    assert reconciliation.reconcile(engine, D, statement) == []
    # the settlement payout of D, paid on D+1, reconciles on D+1 as well
    settlement.settle(engine, bank, D, card_of=card_of)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    clock.advance(hours=24)
    next_day = D + dt.timedelta(days=1)
    lines = reconciliation.parse_statement(bank.statement(next_day), next_day)
    assert [line.order_id for line in lines] == [settlement.settlement_order_id(day["merchant_id"], D)]
    assert reconciliation.reconcile(engine, next_day, bank.statement(next_day)) == []
    assert_books_clean(engine)


@pytest.mark.parametrize(
    ("fault", "target", "kind"),
    [
        ("missing", "top_up_1", "missing_at_bank"),
        ("amount_differs", "withdrawal", "amount_differs"),
        ("duplicate", "top_up_2", "duplicate"),
        ("extra", None, "missing_at_platform"),
    ],
)
def test_each_statement_fault_gives_one_exception(day, engine, clock, fault, target, kind):
    bank = day["bank"]
    clock.advance(hours=24)
    order_id = day["ids"][target] if target else None
    bank.inject_statement_fault(D, fault, order_id=order_id)
    statement = bank.statement(D)
    found = reconciliation.reconcile(engine, D, statement)
    assert [(x["kind"], x["status"]) for x in found] == [(kind, "open")]
    if order_id:
        assert found[0]["order_id"] == order_id
    assert reconciliation.reconcile(engine, D, statement) == found  # idempotent

    before = balance(engine, "platform.suspense.CNY")
    action = "to_suspense" if fault == "extra" else "accept"
    done = reconciliation.resolve_exception(engine, found[0]["id"], action, "ops_1")
    assert done["status"] == "resolved"
    assert reconciliation.resolve_exception(engine, found[0]["id"], action, "ops_1")["status"] == "resolved"
    if fault == "extra":  # 1.00 CNY credited at the bank: held in suspense until assigned
        assert balance(engine, "platform.suspense.CNY") - before == 100
    assert reconciliation.exceptions_of(engine, D, status="open") == []
    assert_books_clean(engine)


def test_bank_settled_top_up_the_platform_never_posted(day, engine, clock):
    bank = day["bank"]
    lost = order(engine, bank, day["customer_id"], OrderKind.debit_card, 200_00, "lost")
    wallet = f"wallet.{day['customer_id']}"
    before = balance(engine, wallet)
    clock.advance(hours=24)  # the notification never reached the platform; the sweeper did not run
    found = reconciliation.reconcile(engine, D, bank.statement(D))
    assert [(x["kind"], x["order_id"]) for x in found] == [("missing_at_platform", lost)]
    with pytest.raises(Conflict):
        reconciliation.resolve_exception(engine, found[0]["id"], "to_suspense", "ops_1")
    count = transfer_count(engine)
    reconciliation.resolve_exception(engine, found[0]["id"], "post_hold", "ops_1")
    assert balance(engine, wallet) == before + 200_00 and transfer_count(engine) == count + 1
    reconciliation.resolve_exception(engine, found[0]["id"], "post_hold", "ops_1")  # once only
    assert balance(engine, wallet) == before + 200_00
    clock.advance(hours=24)  # posted on D+1, but the bank's line was on D: not missing at the bank on D+1
    next_day = D + dt.timedelta(days=1)
    assert reconciliation.reconcile(engine, next_day, bank.statement(next_day)) == []
    assert_books_clean(engine)


def test_settled_before_midnight_posted_after_is_no_false_alarm(day, engine, clock):
    """The bank settles at 23:59 on D, the platform learns it at 00:01 on D+1: D matches the line,
    and D+1 does not report the order as missing at the bank."""
    bank = day["bank"]
    from puhui.clock import CHINA

    target = dt.datetime.combine(D, dt.time(23, 59), tzinfo=CHINA)
    clock.advance(seconds=(target - clock.now()).total_seconds())  # 23:59 China time on D
    late = order(engine, bank, day["customer_id"], OrderKind.debit_card, 70_00, "late")
    clock.advance(minutes=2)  # 00:01 on D+1: the sweeper posts the hold now
    wallets.recover_pending_orders(engine, bank)
    clock.advance(hours=24)
    statement_d = bank.statement(D)
    assert late in {line.order_id for line in reconciliation.parse_statement(statement_d, D)}
    assert reconciliation.reconcile(engine, D, statement_d) == []
    next_day = D + dt.timedelta(days=1)
    assert reconciliation.reconcile(engine, next_day, bank.statement(next_day)) == []
    assert_books_clean(engine)


def test_reverse_an_order_the_bank_never_moved(day, engine, clock):
    """A top-up the platform posted but the bank's statement lacks: reversing takes the money back
    out of the wallet, once; refused when the wallet has spent it."""
    bank = day["bank"]
    clock.advance(hours=24)
    bank.inject_statement_fault(D, "missing", order_id=day["ids"]["top_up_2"])
    [found] = reconciliation.reconcile(engine, D, bank.statement(D))
    wallet = f"wallet.{day['customer_id']}"
    before = balance(engine, wallet)
    with pytest.raises(Conflict):
        reconciliation.resolve_exception(engine, found["id"], "to_suspense", "ops_1")
    done = reconciliation.resolve_exception(engine, found["id"], "reverse", "ops_1")
    assert done["transfer_id"] == found["id"] + ".rev"
    assert balance(engine, wallet) == before - 500_00
    reconciliation.resolve_exception(engine, found["id"], "reverse", "ops_1")  # replay moves nothing
    assert balance(engine, wallet) == before - 500_00
    assert_books_clean(engine)


def test_reverse_is_refused_when_the_wallet_has_spent_the_money(day, engine, clock):
    bank = day["bank"]
    clock.advance(hours=24)
    bank.inject_statement_fault(D, "missing", order_id=day["ids"]["top_up_1"])  # 1,000.00
    [found] = reconciliation.reconcile(engine, D, bank.statement(D))
    wallet = f"wallet.{day['customer_id']}"
    spend = [Transfer("spent", wallet, f"wallet.{day['merchant_id']}", 200_00, "CNY", "qr_payment")]
    transaction(engine, lambda uow: create_transfers(uow, spend))
    assert balance(engine, wallet) < 1_000_00  # spent on payments and the withdrawal
    count = transfer_count(engine)
    with pytest.raises(reconciliation.WalletSpent):
        reconciliation.resolve_exception(engine, found["id"], "reverse", "ops_1")
    assert transfer_count(engine) == count
    assert reconciliation.exceptions_of(engine, D, status="open") == [found]
    assert_books_clean(engine)


def test_suspense_money_is_assigned_to_its_owner_once(day, engine, clock):
    bank = day["bank"]
    clock.advance(hours=24)
    bank.inject_statement_fault(D, "extra")
    [found] = reconciliation.reconcile(engine, D, bank.statement(D))
    with pytest.raises(Conflict):  # not in suspense yet
        reconciliation.assign_suspense(engine, found["id"], day["customer_id"], "ops_1")
    reconciliation.resolve_exception(engine, found["id"], "to_suspense", "ops_1")
    wallet = f"wallet.{day['customer_id']}"
    before, suspense = balance(engine, wallet), balance(engine, "platform.suspense.CNY")
    with pytest.raises(NotFound):
        reconciliation.assign_suspense(engine, found["id"], "cus_nobody", "ops_1")
    done = reconciliation.assign_suspense(engine, found["id"], day["customer_id"], "ops_1")
    assert done["assigned_to"] == day["customer_id"]
    reconciliation.assign_suspense(engine, found["id"], day["customer_id"], "ops_1")  # once only
    assert balance(engine, wallet) == before + 100
    assert balance(engine, "platform.suspense.CNY") == suspense - 100
    with pytest.raises(Conflict):
        reconciliation.assign_suspense(engine, found["id"], "cus_other", "ops_1")
    assert_books_clean(engine)
