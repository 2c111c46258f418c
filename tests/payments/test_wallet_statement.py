"""The wallet statement (账单) over HTTP on SQLite and PostgreSQL: every transfer of the caller's wallet
newest first, for a customer and a merchant, filtered and paged, checked against the ledger's own history;
a hold shown once with its status; bad queries refused with a stable code."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from puhui.db import reading, transaction
from puhui.ledger.models import Transfer, TransferFlags
from puhui.ledger.service import account_history, create_transfers
from puhui.money import format_minor
from tests.payments.test_payments_http import (  # noqa: F401 - `client` is the fixture
    ADMIN,
    PEOPLE,
    assert_audit_clean,
    client,
    customer,
    customer_login,
    fund,
    merchant,
)

PAY = {"verification": "two_factors", "password": "correct horse battery"}


def statement(client, headers: dict, **query) -> dict:  # type: ignore[no-untyped-def]
    answer = client.get("/v1/wallets/me/transactions", headers=headers, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def every_page(client, headers: dict, limit: int, **query) -> list[dict]:  # type: ignore[no-untyped-def]
    lines, before = [], None
    for _ in range(100):
        page = statement(client, headers, limit=limit, **query, **({"before": before} if before else {}))
        assert len(page["transactions"]) <= limit
        lines += page["transactions"]
        if (before := page["next_before"]) is None:
            return lines
    raise AssertionError("the pages did not end")


def ledger_lines(engine, account_id: str) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """The oracle: the ledger's whole history of the account, newest first, holds' resolutions left out."""
    with reading(engine) as connection:
        history = account_history(connection, account_id, limit=10_000)
    return [
        (t.id, "in" if t.credit_account_id == account_id else "out", format_minor(t.amount, 2))
        for t in reversed(history)
        if t.pending_id is None
    ]


def shop_and_payer(client, engine, clock):  # type: ignore[no-untyped-def]
    payer, me = customer(client, PEOPLE[0], 3)
    friend, _ = customer(client, PEOPLE[1], 1)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 2_000_00, "zhang")
    return payer, me, friend, merchant_id, shop


def next_day(client, clock) -> dict:  # type: ignore[no-untyped-def]
    """A day later, the payer's new session (a token lasts minutes)."""
    clock.advance(dt.timedelta(days=1))
    return customer_login(client, PEOPLE[0])


def pay(client, me: dict, merchant_id: str, shop: dict, amount: str) -> dict:  # type: ignore[no-untyped-def]
    qr = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": amount})
    paid = client.post(f"/v1/qr-codes/{qr.json()['id']}/pay", headers=me, json=PAY)
    assert paid.status_code == 201, paid.text
    return paid.json()


def test_a_customer_and_a_merchant_read_their_statements_newest_first(client, engine, clock):
    payer, me, friend, merchant_id, shop = shop_and_payer(client, engine, clock)
    first = pay(client, me, merchant_id, shop, "12.30")
    me = next_day(client, clock)
    sent = client.post("/v1/transfers/p2p", headers=me, json={"to_customer_id": friend, "amount": "5.00"})
    assert sent.status_code == 201, sent.text
    me = next_day(client, clock)
    second = pay(client, me, merchant_id, shop, "40.00")
    refunded = client.post(f"/v1/payments/{first['id']}/refunds", headers=shop, json={"amount": "2.30"})
    assert refunded.status_code == 201, refunded.text

    lines = statement(client, me)["transactions"]
    assert [(line["kind"], line["direction"], line["amount"]) for line in lines] == [
        ("qr_refund", "in", "2.30"),
        ("qr_payment", "out", "40.00"),
        ("p2p_transfer", "out", "5.00"),
        ("qr_payment", "out", "12.30"),
        ("top_up", "in", "2000.00"),
    ]
    assert all(line["currency"] == "CNY" and line["status"] == "posted" for line in lines)
    assert [line["at"] for line in lines] == sorted((line["at"] for line in lines), reverse=True)
    assert [(line["id"], line["direction"], line["amount"]) for line in lines] == ledger_lines(
        engine, f"wallet.{payer}"
    )

    takings = statement(client, shop)["transactions"]
    assert [(line["id"], line["direction"], line["amount"]) for line in takings] == ledger_lines(
        engine, f"wallet.{merchant_id}"
    )
    assert {line["kind"] for line in takings} >= {"qr_payment", "qr_refund"}
    assert second["amount"] == "40.00"
    assert_audit_clean(engine)


def test_filters_and_pages_give_exactly_the_ledgers_lines(client, engine, clock):
    payer, me, friend, merchant_id, shop = shop_and_payer(client, engine, clock)
    start = clock.now()
    for day, amount in zip(range(4), ("1.00", "2.00", "3.00", "4.00"), strict=True):
        pay(client, me, merchant_id, shop, amount)
        client.post("/v1/transfers/p2p", headers=me, json={"to_customer_id": friend, "amount": f"0.1{day}"})
        me = next_day(client, clock)
    everything = ledger_lines(engine, f"wallet.{payer}")
    assert len(everything) == 9

    for limit in (1, 2, 3, 4, 9, 10, 100):
        paged = every_page(client, me, limit)
        assert [(line["id"], line["direction"], line["amount"]) for line in paged] == everything, limit

    outgoing = every_page(client, me, 2, direction="out")
    assert [line["id"] for line in outgoing] == [i for i, side, _ in everything if side == "out"]
    assert [line["amount"] for line in every_page(client, me, 3, kind="p2p_transfer")] == [
        "0.13",
        "0.12",
        "0.11",
        "0.10",
    ]
    china = dt.timezone(dt.timedelta(hours=8))
    second_day = (start.astimezone(china) + dt.timedelta(days=1)).date()
    third_day = second_day + dt.timedelta(days=1)
    days = every_page(client, me, 1, **{"from": second_day.isoformat(), "to": third_day.isoformat()})
    assert [line["amount"] for line in days] == ["0.12", "3.00", "0.11", "2.00"]
    assert statement(client, me, direction="in", kind="qr_payment")["transactions"] == []


def test_a_hold_shows_once_with_its_status(client, engine, clock):
    payer, me, _friend, _merchant_id, _shop = shop_and_payer(client, engine, clock)
    wallet = f"wallet.{payer}"

    def hold_and(resolve: TransferFlags | None, name: str):  # type: ignore[no-untyped-def]
        def work(uow):  # type: ignore[no-untyped-def]
            hold = Transfer(f"hold.{name}", wallet, "platform.reserve_bank.CNY", 7_00, "CNY", "withdrawal")
            moves = [replace(hold, flags=TransferFlags.pending, timeout_seconds=3600)]
            if resolve is not None:
                moves.append(Transfer(f"{name}.done", flags=resolve, pending_id=f"hold.{name}"))
            assert [r.value for r in create_transfers(uow, moves)] == ["ok"] * len(moves)

        transaction(engine, work)

    hold_and(TransferFlags.post_pending, "posted")
    hold_and(TransferFlags.void_pending, "voided")
    hold_and(None, "open")
    lines = {line["id"]: line for line in statement(client, me)["transactions"]}
    assert {k: lines[k]["status"] for k in ("hold.posted", "hold.voided", "hold.open")} == {
        "hold.posted": "posted",
        "hold.voided": "voided",
        "hold.open": "pending",
    }
    assert "posted.done" not in lines and "voided.done" not in lines
    assert_audit_clean(engine)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"from": "2026-01-09", "to": "2026-01-08"}, "bill_range_invalid"),
        ({"from": "2026-02-30"}, "date_invalid"),
        ({"to": "yesterday"}, "date_invalid"),
        ({"direction": "sideways"}, "invalid_request"),
        ({"before": "0"}, "invalid_request"),
        ({"limit": "101"}, "invalid_request"),
        ({"kind": "Robert'); DROP TABLE transfers;--"}, "invalid_request"),
    ],
)
def test_bad_queries_are_refused_with_a_stable_code(client, engine, clock, query, code):
    _payer, me, _friend, _merchant_id, _shop = shop_and_payer(client, engine, clock)
    answer = client.get("/v1/wallets/me/transactions", headers=me, params=query)
    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert len(statement(client, me)["transactions"]) == 1


def test_the_calendars_last_day_is_a_date_like_any_other(client, engine, clock):
    """`to=9999-12-31` answered 500: the end of its China day was computed as the next date's midnight."""
    _payer, me, _friend, _merchant_id, _shop = shop_and_payer(client, engine, clock)
    assert len(statement(client, me, to="9999-12-31")["transactions"]) == 1
    assert statement(client, me, **{"from": "9999-12-31"})["transactions"] == []


def test_only_a_wallets_owner_reads_it(client, engine, clock):
    for headers, status in ((ADMIN, 403), ({}, 401), ({"Authorization": "Bearer not-a-token"}, 401)):
        assert client.get("/v1/wallets/me/transactions", headers=headers).status_code == status
    payer, me, friend, merchant_id, shop = shop_and_payer(client, engine, clock)
    _other, them = customer(client, PEOPLE[2], 1)
    pay(client, me, merchant_id, shop, "9.99")
    assert statement(client, them)["transactions"] == []
    assert statement(client, me)["transactions"][0]["amount"] == "9.99"


def test_a_busy_wallet_shows_its_newest_transfers_first(client, engine, clock):
    """The console's bills read the ledger's oldest 5,000 transfers and showed the newest of those: a wallet
    with more never showed its latest. The statement reads newest first, however long the history."""
    payer, me, _friend, _merchant_id, _shop = shop_and_payer(client, engine, clock)

    def work(uow):  # type: ignore[no-untyped-def]
        moves = [
            Transfer(f"busy.{n}", "platform.reserve_bank.CNY", f"wallet.{payer}", n, "CNY", "top_up")
            for n in range(1, 5_011)
        ]
        assert {r.value for r in create_transfers(uow, moves)} == {"ok"}

    transaction(engine, work)
    newest = statement(client, me, limit=3)
    assert [line["id"] for line in newest["transactions"]] == ["busy.5010", "busy.5009", "busy.5008"]
    assert newest["next_before"] is not None
