"""`puhui reconcile` and `puhui settle` ask the bank that took the platform's orders, never a new, empty one
(a new-user pass: on the demo `puhui reconcile` asked a fresh in-process sandbox bank, reported every top-up
of the day `missing_at_bank` and left the false exceptions open for good). On the demo the server keeps its
sandbox bank in a state file every command shares (`sandbox.shared`); without one, reconcile is refused
(exit 2, nothing stored) and settle sends no payout to a bank that is not the server's. A re-run of a date
that finds an exception no more closes it."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
from sqlalchemy import select

from puhui.db import reading
from puhui.eod import runs
from puhui.payments import reconciliation, settlement, wallets
from puhui.payments.bank import worker as bank_worker
from puhui.payments.bank.channel import BankOrder, OrderKind
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_RICH
from puhui.payments.bank.sandbox.shared import STATE_ENV, SharedSandboxBank
from puhui.payments.settlement_tables import settlements
from puhui.payments.tables import bank_orders
from puhui.settings import Settings
from tests.payments.test_reconciliation import day, order  # noqa: F401 - fixtures
from tests.payments.test_settlement import BANK_KEY, INDEX_KEY, K1, D, client, make_customer, make_merchant, pay  # noqa: F401


def run_cli(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    from puhui import cli

    monkeypatch.setattr(sys, "argv", ["puhui", *argv])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    out = capsys.readouterr()
    return stopped.value.code, out.out, out.err


@pytest.fixture
def no_kept_bank(monkeypatch):
    monkeypatch.delenv("PUHUI_ENV_FILE", raising=False)
    monkeypatch.delenv(STATE_ENV, raising=False)


def test_reconcile_without_a_bank_is_refused_and_stores_nothing(
    day, engine, db_url, clock, monkeypatch, capsys, no_kept_bank
):  # noqa: F811
    clock.advance(hours=24)
    code, out, err = run_cli(monkeypatch, capsys, "reconcile", "--date", D.isoformat(), "--db", db_url)
    assert code == 2 and err.startswith("bank_unknown: ") and "--statement" in err and "--bank-state" in err, err
    assert "/v1/reconciliation/runs" in err and out == ""
    assert reconciliation.exceptions_of(engine, D) == []
    with reading(engine) as connection:
        assert runs.last_completed(connection, reconciliation.RECONCILIATION_JOB) is None
    # a --bank-state that does not exist is no bank either
    code, _, err = run_cli(
        monkeypatch, capsys, "reconcile", "--date", D.isoformat(), "--db", db_url,
        "--bank-state", str(engine.url.database or "x") + ".missing.json",
    )  # fmt: skip
    assert code == 2 and err.startswith("bank_unknown: ") and reconciliation.exceptions_of(engine, D) == []


def test_reconcile_matches_the_bank_the_server_keeps(client, engine, db_url, clock, tmp_path, monkeypatch, capsys):  # noqa: F811
    """The server's bank took the day's top-ups; `puhui reconcile` (its settings naming the kept file, as the
    demo's do) matches that bank's statement: no exception, exit 0."""
    state = tmp_path / "bank.json"
    server = SharedSandboxBank.adopt(state, SandboxBank(BANK_KEY, reserve_balance=10_000_00), BANK_KEY)
    customer_id, _ = make_customer(client, engine, "13812345678", "531", 0)
    ids = [order(engine, server, customer_id, OrderKind.debit_card, fen, f"t{fen}") for fen in (1_000_00, 500_00)]
    clock.advance(minutes=5)
    wallets.recover_pending_orders(engine, server)  # the server's notifications, as its loops deliver them
    with reading(engine) as connection:
        assert {r[0] for r in connection.execute(select(bank_orders.c.status))} == {"posted"}
    clock.advance(hours=24)
    env_file = tmp_path / "puhui.env"
    env_file.write_text(f"PUHUI_DATABASE_URL={db_url}\n{STATE_ENV}={state}\n", encoding="utf-8")
    monkeypatch.delenv(STATE_ENV, raising=False)
    monkeypatch.setenv("PUHUI_ENV_FILE", str(env_file))
    code, out, err = run_cli(monkeypatch, capsys, "reconcile", "--date", D.isoformat())
    assert (code, json.loads(out)) == (0, []), err
    assert len(reconciliation.parse_statement(server.statement(D), D)) == len(ids)


def test_a_rerun_closes_the_false_exceptions_of_a_run_against_the_wrong_bank(day, engine, clock):  # noqa: F811
    clock.advance(hours=24)
    empty = SandboxBank(BANK_KEY, auto_open_balance=0)  # what the command used to ask
    wrong = reconciliation.reconcile(engine, D, empty.statement(D))
    assert {r["kind"] for r in wrong} == {"missing_at_bank"} and len(wrong) == 3
    right = reconciliation.reconcile(engine, D, day["bank"].statement(D))
    assert [r["status"] for r in right] == ["resolved"] * 3
    assert {(r["action"], r["actor"], r["transfer_id"]) for r in right} == {("accept", "reconciliation", None)}
    assert reconciliation.exceptions_of(engine, D, "open") == []
    # a real mismatch found again stays open; a resolved exception is left as it was
    day["bank"].inject_statement_fault(D, "missing", order_id=day["ids"]["top_up_1"])
    again = reconciliation.reconcile(engine, D, day["bank"].statement(D))
    assert sorted(r["status"] for r in again) == ["open", "resolved", "resolved"]
    [found] = [r for r in again if r["status"] == "open"]
    assert (found["order_id"], found["action"], found["actor"]) == (day["ids"]["top_up_1"], None, None)


def test_settle_without_a_bank_holds_the_payouts_for_the_servers_bank(
    client, engine, db_url, clock, monkeypatch, capsys, no_kept_bank
):  # noqa: F811
    customer_id, phone = make_customer(client, engine, "13812345678", "531", 100_00)
    merchant_id, shop = make_merchant(client)
    pay(client, phone, merchant_id, shop, "50.00")
    clock.advance(hours=24)
    code, out, err = run_cli(monkeypatch, capsys, "settle", "--date", D.isoformat(), "--db", db_url)
    assert code == 0 and "bank worker" in err, err
    [row] = [r for r in json.loads(out) if r["merchant_id"] == merchant_id]
    assert row["state"] == "pending"
    # the server's bank never got it: its sweeper submits it, and it is paid
    server = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    clock.advance(minutes=2)
    cards = {settlement.SETTLEMENT_CARD_ID: CARD_RICH}
    report = bank_worker.sweep(engine, server, after=dt.timedelta(minutes=1), cards=lambda _o, card: cards[card])
    assert report.resubmitted == [row["order_id"]]
    clock.advance(minutes=5)
    bank_worker.sweep(engine, server, after=dt.timedelta(minutes=1))
    with reading(engine) as connection:
        state = connection.execute(select(settlements.c.state).where(settlements.c.order_id == row["order_id"]))
        assert state.scalar_one() == "paid"


def test_settle_sends_the_payouts_to_the_kept_bank(client, engine, db_url, clock, tmp_path, monkeypatch, capsys):  # noqa: F811
    state = tmp_path / "bank.json"
    server = SharedSandboxBank.adopt(state, SandboxBank(BANK_KEY, reserve_balance=10_000_00), BANK_KEY)
    customer_id, phone = make_customer(client, engine, "13812345678", "531", 100_00)
    merchant_id, shop = make_merchant(client)
    pay(client, phone, merchant_id, shop, "50.00")
    clock.advance(hours=24)
    monkeypatch.delenv("PUHUI_ENV_FILE", raising=False)
    monkeypatch.setenv(STATE_ENV, str(state))
    monkeypatch.setenv("PUHUI_PII_KEYS", f"k1:{K1}")
    monkeypatch.setenv("PUHUI_PII_INDEX_KEY", INDEX_KEY)
    monkeypatch.setattr(settlement, "vault_cards", lambda vault: lambda connection, merchant: CARD_RICH)
    code, out, err = run_cli(monkeypatch, capsys, "settle", "--date", D.isoformat(), "--db", db_url)
    assert code == 0 and err == "", err
    [row] = [r for r in json.loads(out) if r["merchant_id"] == merchant_id]
    assert server.query(row["order_id"]).order_id == row["order_id"]  # the server's bank has it at once
    clock.advance(minutes=5)
    settlement.sync(engine, server)
    with reading(engine) as connection:
        paid = connection.execute(select(settlements.c.state).where(settlements.c.order_id == row["order_id"]))
        assert paid.scalar_one() == "paid"


def test_processes_sharing_the_state_file_share_one_bank(tmp_path, clock):
    state = tmp_path / "bank.json"
    server = SharedSandboxBank.adopt(state, SandboxBank(BANK_KEY, reserve_balance=1_000_00), BANK_KEY)
    command = SharedSandboxBank(state, BANK_KEY)
    command.submit(BankOrder("o1", OrderKind.debit_card, CARD_RICH, 100_00))
    assert server.query("o1").order_id == "o1"
    clock.advance(minutes=5)
    assert [a.order_id for a in server.deliver_due()] == ["o1"]  # no callback: retried later, but settled
    assert command.reserve_balance == 1_100_00 and server.reserve_balance == 1_100_00
    reference = server.query("o1").bank_reference
    server.submit(BankOrder("o2", OrderKind.debit_card, CARD_RICH, 1_00))
    assert command.query("o2").bank_reference != reference
    # a restarted server opens the kept bank: its books and references run on
    restarted = bank_worker.keep_bank(None, Settings(), state)  # type: ignore[arg-type]
    assert {o.order_id for o in restarted.orders()} == {"o1", "o2"}
