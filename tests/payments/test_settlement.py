"""T+1 merchant settlement on SQLite and PostgreSQL: payments and refunds on day D are paid out net
on D+1 through the sandbox bank, exactly once; later refunds reduce a later settlement; the ledger
audit passes and the reserve covers every wallet."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum.cn import ric

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.eod.errors import BusinessDateClosed, BusinessDateInFuture, BusinessDateNotOver
from puhui.errors import Conflict
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers, get_account
from puhui.ledger.tables import transfers
from puhui.payments import settlement
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_MERCHANT
from puhui.payments.reserve import reserve_coverage
from puhui.settings import Settings

ADMIN = {"Authorization": "Bearer test-admin-token"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
BANK_KEY = "settlement-test-bank-key-0123456789"
PASSWORD = "correct horse battery"
CHANNELS = ("public_security", "bank_card", "face")
MERCHANT = {
    "name": "兰州拉面馆",
    "credit_code": "91110000600037341L",
    "settlement_account": "110060774018010012345",
    "settlement_holder": "马晓明",
    "settlement_bank": "交通银行北京分行",
}
D = dt.date(2026, 1, 5)  # the clock fixture starts at 2026-01-05 09:30 China time


def id_number(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def client(engine, clock):
    settings = Settings(
        admin_token="test-admin-token",
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        jwt_ttl_seconds=900,
        merchant_fee_bp=60,
        merchant_notify_key="merchant-notify-test-key",
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def make_customer(client, engine, phone: str, seq: str, fen: int) -> tuple[str, str]:
    person = {"name": "张三丰", "id_number": id_number("110105", "19900307", seq), "phone": phone, "password": PASSWORD}
    answer = client.post("/v1/customers", json={**person, "consents": ["payments"]})
    assert answer.status_code == 201, answer.text
    customer_id = answer.json()["id"]
    for channel in CHANNELS:
        done = client.post(
            f"/v1/customers/{customer_id}/verifications",
            headers=ADMIN,
            json={"channel": channel, "reference": f"R-{customer_id}-{channel}"},
        )
        assert done.status_code == 201, done.text
    assert client.post(f"/v1/customers/{customer_id}/tier", headers=ADMIN, json={"reason": "ok"}).status_code == 200
    if fen:
        fund(engine, f"wallet.{customer_id}", fen, customer_id)
    return customer_id, phone


def make_merchant(client) -> tuple[str, dict]:
    answer = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], {"Authorization": f"Bearer {answer.json()['api_key']}"}


def fund(engine, account_id: str, fen: int, ref: str) -> None:
    def work(uow):
        results = create_transfers(
            uow, [Transfer(f"fund.{ref}", "platform.reserve_bank.CNY", account_id, fen, "CNY", "top_up")]
        )
        assert [r.value for r in results] == ["ok"]

    transaction(engine, work)


def login(client, phone: str) -> dict:
    answer = client.post("/v1/customers/login", json={"phone": phone, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def pay(client, phone: str, merchant_id: str, shop: dict, amount: str) -> dict:
    payer = login(client, phone)  # the session token lives 15 minutes; the test moves days
    qr = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes",
        headers=shop,
        json={"kind": "dynamic", "amount": amount, "expires_in_seconds": 300},
    )
    assert qr.status_code == 201, qr.text
    paid = client.post(
        f"/v1/qr-codes/{qr.json()['id']}/pay",
        headers=payer,
        json={"verification": "two_factors", "password": "correct horse battery"},
    )
    assert paid.status_code == 201, paid.text
    return paid.json()


def refund(client, shop: dict, payment_id: str, amount: str) -> None:
    done = client.post(f"/v1/payments/{payment_id}/refunds", headers=shop, json={"amount": amount})
    assert done.status_code == 201, done.text


def balance(engine, account_id: str) -> int:
    with reading(engine) as connection:
        a = get_account(connection, account_id)
        return a.credits_posted - a.debits_posted


def transfer_count(engine) -> int:
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(transfers)).scalar_one()


def assert_books_clean(engine) -> None:
    with reading(engine) as connection:
        report = audit(connection)
        assert report.ok, report
        assert reserve_coverage(connection).covered


def card_of(connection, merchant_id: str) -> str:
    return CARD_MERCHANT


def test_t_plus_1_settlement_pays_net_once(client, engine, clock):
    _payer, me = make_customer(client, engine, "13812345678", "531", 3_000_00)
    merchant_id, shop = make_merchant(client)
    wallet = f"wallet.{merchant_id}"
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)

    first = pay(client, me, merchant_id, shop, "123.45")  # fee 0.74
    refund(client, shop, first["id"], "23.45")  # fee back 0.14
    with pytest.raises(Conflict):
        settlement.settle(engine, bank, D, card_of=card_of)  # D is not over yet

    clock.advance(hours=24)  # D+1, 09:30 China time
    rows = settlement.settle(engine, bank, D, card_of=card_of)
    assert len(rows) == 1
    row = rows[0]
    assert (row["gross"], row["fees"], row["refunds"], row["net"]) == (123_45, 74, 23_45 - 14, 99_40)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    [row] = settlement.settlements_of(engine, D)
    assert row["state"] == "paid" and row["order_id"]
    assert bank.card_balance(CARD_MERCHANT) == 99_40
    assert balance(engine, wallet) == 0
    assert_books_clean(engine)

    before = transfer_count(engine)
    again = settlement.settle(engine, bank, D, card_of=card_of)
    assert again == [row] and transfer_count(engine) == before
    assert bank.card_balance(CARD_MERCHANT) == 99_40

    # D+1: a new payment, and a late refund of D's payment that reduces D+1's settlement
    pay(client, me, merchant_id, shop, "200.00")  # fee 1.20
    refund(client, shop, first["id"], "50.00")  # fee back 0.44 - 0.14 = 0.30
    clock.advance(hours=24)
    [later] = settlement.settle(engine, bank, D + dt.timedelta(days=1), card_of=card_of)
    assert (later["gross"], later["fees"], later["refunds"], later["net"]) == (200_00, 1_20, 50_00 - 30, 149_10)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    assert settlement.settlements_of(engine, D + dt.timedelta(days=1))[0]["state"] == "paid"
    assert bank.card_balance(CARD_MERCHANT) == 99_40 + 149_10
    assert balance(engine, wallet) == 0
    assert_books_clean(engine)


def test_refund_larger_than_the_day_never_overdraws(client, engine, clock):
    _payer, me = make_customer(client, engine, "13998765432", "246", 3_000_00)
    merchant_id, shop = make_merchant(client)
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    first = pay(client, me, merchant_id, shop, "100.00")  # fee 0.60
    clock.advance(hours=24)
    settlement.settle(engine, bank, D, card_of=card_of)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    pay(client, me, merchant_id, shop, "10.00")  # fee 0.06, wallet 9.94
    refund(client, shop, first["id"], "5.00")  # fee back 0.03, wallet 4.97
    clock.advance(hours=24)
    [row] = settlement.settle(engine, bank, D + dt.timedelta(days=1), card_of=card_of)
    assert row["net"] == 4_97 and row["net"] <= 10_00 - 6 - (5_00 - 3)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    assert balance(engine, f"wallet.{merchant_id}") == 0
    assert_books_clean(engine)


def test_failed_payout_voids_the_hold(client, engine, clock):
    _payer, me = make_customer(client, engine, "15011112222", "067", 1_000_00)
    merchant_id, shop = make_merchant(client)
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    pay(client, me, merchant_id, shop, "100.00")
    bank.set_frozen(CARD_MERCHANT)
    clock.advance(hours=24)
    settlement.settle(engine, bank, D, card_of=card_of)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    [row] = settlement.settlements_of(engine, D)
    assert row["state"] == "failed"
    assert balance(engine, f"wallet.{merchant_id}") == 100_00 - 60  # the money is back in the wallet
    assert_books_clean(engine)


def test_a_failed_payout_is_paid_with_the_next_settlement_net_of_a_negative_day(client, engine, clock):
    """D: 100.00 taken, the payout fails (frozen account). D+1: 80.00 of it refunded and nothing
    sold, a negative day (-79.52). D+2 pays what is still owed: 99.40 - 79.52 = 19.88, once."""
    _payer, me = make_customer(client, engine, "15011112222", "067", 1_000_00)
    merchant_id, shop = make_merchant(client)
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    first = pay(client, me, merchant_id, shop, "100.00")
    bank.set_frozen(CARD_MERCHANT)
    clock.advance(hours=24)
    settlement.settle(engine, bank, D, card_of=card_of)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    assert settlement.settlements_of(engine, D)[0]["state"] == "failed"
    refund(client, shop, first["id"], "80.00")  # fee back 0.48: the day's net is -79.52
    bank.set_frozen(CARD_MERCHANT, False)
    clock.advance(hours=24)
    day_after = D + dt.timedelta(days=1)
    [row] = settlement.settle(engine, bank, day_after, card_of=card_of)
    assert (row["gross"], row["refunds"], row["net"]) == (0, 79_52, 19_88)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    assert settlement.settlements_of(engine, day_after)[0]["state"] == "paid"
    assert balance(engine, f"wallet.{merchant_id}") == 0
    clock.advance(hours=24)
    [later] = settlement.settle(engine, bank, day_after + dt.timedelta(days=1), card_of=card_of)
    assert later["net"] == 0 and later["state"] == "nothing"  # nothing is paid twice
    assert_books_clean(engine)


def test_settlement_dates_follow_the_end_of_day_rule(client, engine, clock):
    """Today (not over) and later dates are refused, and so is a date skipped before the last one
    settled; the dates of a gap are settled first, in order, each with its own row and payout."""
    _payer, me = make_customer(client, engine, "13812345678", "531", 3_000_00)
    merchant_id, shop = make_merchant(client)
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    pay(client, me, merchant_id, shop, "100.00")  # D
    clock.advance(hours=24)
    settlement.settle(engine, bank, D, card_of=card_of)
    pay(client, me, merchant_id, shop, "50.00")  # D+1
    clock.advance(hours=24)
    pay(client, me, merchant_id, shop, "20.00")  # D+2
    clock.advance(hours=24)  # D+3, 09:30
    before = transfer_count(engine)
    for day, error in (
        (D + dt.timedelta(days=3), BusinessDateNotOver),
        (D + dt.timedelta(days=4), BusinessDateInFuture),
        (dt.date(2035, 6, 1), BusinessDateInFuture),
        (D - dt.timedelta(days=1), BusinessDateClosed),
    ):
        with pytest.raises(error):
            settlement.settle(engine, bank, day, card_of=card_of)
    assert transfer_count(engine) == before and settlement.settlements_of(engine, D - dt.timedelta(days=1)) == []
    [row] = settlement.settle(engine, bank, D + dt.timedelta(days=2), card_of=card_of)  # D+1 was skipped
    [skipped] = settlement.settlements_of(engine, D + dt.timedelta(days=1))
    assert (skipped["gross"], skipped["net"], row["gross"], row["net"]) == (50_00, 49_70, 20_00, 19_88)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    assert bank.card_balance(CARD_MERCHANT) == 99_40 + 49_70 + 19_88
    assert_books_clean(engine)


def test_http_takes_only_iso_date_strings_that_are_over(client, engine, clock):
    before = transfer_count(engine)
    for path in ("/v1/settlements", "/v1/reconciliation/runs"):
        for n, (date, status, code) in enumerate(
            [
                (86400, 422, "date_invalid"),
                ("2026/01/04", 422, "date_invalid"),
                ("2035-06-01", 422, "business_date_in_future"),
                (D.isoformat(), 409, "business_date_not_over"),
            ]
        ):
            answer = client.post(path, headers={**ADMIN, "Idempotency-Key": f"{path}{n}"}, json={"business_date": date})
            assert (answer.status_code, answer.json()["code"]) == (status, code), (path, date, answer.text)
    assert transfer_count(engine) == before


@pytest.mark.parametrize("command", ["settle", "reconcile"])
@pytest.mark.parametrize("date, code", [("2026/12/01", "date_invalid"), ("2040-01-01", "business_date_in_future")])
def test_commands_refuse_a_bad_date_in_one_line(monkeypatch, capsys, db_url, clock, command, date, code):
    import sys

    from puhui import cli

    monkeypatch.setattr(sys, "argv", ["puhui", command, "--date", date, "--db", db_url])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.strip().splitlines()) == 1 and err.startswith(f"{code}: "), err
