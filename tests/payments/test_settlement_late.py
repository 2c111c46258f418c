"""Settlement that runs late, and one merchant's payout that cannot be ordered, on SQLite and PostgreSQL.

A date's settlement pays from the money its merchant's wallet had at the date's end, so a late (catch-up) run
gives the rows a run on time gives: two worlds live the same days, one settling each date on time and one late,
and their rows agree. A merchant whose payout the bank order refuses fails alone, with its reason; every other
merchant is paid and the later dates run. The ledger audit passes after each."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from stdnum.cn import uscc

from puhui.app import create_app
from puhui.db import create_engine_from_url, reading
from puhui.identity.vault import Vault
from puhui.payments import settlement, wallets
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_MERCHANT, FaultPlan, OrderScript
from puhui.settings import Settings
from tests.conftest import _fresh_pg
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    ADMIN,
    BANK_KEY,
    INDEX_KEY,
    K1,
    MERCHANT,
    D,
    assert_books_clean,
    balance,
    card_of,
    client,
    make_customer,
    make_merchant,
    pay,
    refund,
)

DAY = dt.timedelta(days=1)
NOT_A_CARD = "6222020000000888888"  # a corporate account of a card's length that fails Luhn
FIGURES = ("gross", "fees", "refunds", "other_credits", "net", "failure_reason", "retried_on", "unpaid")


def _code(n: int) -> str:
    body = str(91110000600037300 + n)
    return body + uscc.calc_check_digit(body)


def test_a_merchant_whose_payout_cannot_be_ordered_fails_alone(client, engine, clock):
    _payer, me = make_customer(client, engine, "13812345678", "531", 3_000_00)
    merchants = [make_merchant(client)]
    for n in range(2):
        answer = client.post(
            "/v1/merchants", headers=ADMIN, json={**MERCHANT, "credit_code": _code(n), "name": f"店{n}"}
        )
        assert answer.status_code == 201, answer.text
        merchants.append((answer.json()["id"], {"Authorization": f"Bearer {answer.json()['api_key']}"}))
    bad = merchants[1][0]
    for merchant_id, shop in merchants:
        pay(client, me, merchant_id, shop, "100.00")  # 99.40 after the fee
    cards = lambda connection, merchant_id: "12ab" if merchant_id == bad else CARD_MERCHANT  # noqa: E731
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    clock.advance(hours=24)
    settlement.settle(engine, bank, D, card_of=cards)  # the bad order is refused; the run goes on
    for merchant_id, shop in merchants:
        pay(client, me, merchant_id, shop, "10.00")  # D+1: 9.94
    clock.advance(hours=24)
    run = settlement.settle_days(engine, bank, D + DAY, card_of=cards)  # the later date runs
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    with reading(engine) as connection:
        rows = {
            (r["business_date"], r["merchant_id"]): r
            for day in (D, D + DAY)
            for r in settlement.explain(connection, settlement.settlements_of(engine, day))
        }
    assert len(rows) == 6 and len(run.result) == 3
    for merchant_id, _shop in merchants:
        first, second = rows[(D.isoformat(), merchant_id)], rows[((D + DAY).isoformat(), merchant_id)]
        if merchant_id == bad:
            assert (first["state"], first["failure_reason"], first["retried_on"]) == (
                "failed",
                wallets.ORDER_REFUSED,
                D + DAY,
            )
            assert (second["state"], second["net"]) == ("failed", 99_40 + 9_94)  # paid again, refused again
            assert balance(engine, f"wallet.{merchant_id}") == 99_40 + 9_94  # the holds voided: nothing lost
        else:
            assert (first["state"], first["net"], second["state"], second["net"]) == ("paid", 99_40, "paid", 9_94)
    assert bank.card_balance(CARD_MERCHANT) == 2 * (99_40 + 9_94)
    assert_books_clean(engine)


def test_a_settlement_account_that_fails_luhn_is_paid(client, engine, clock):
    """Onboarded through the API and looked up in the PII vault, as `puhui settle` does."""
    _payer, me = make_customer(client, engine, "13812345678", "531", 3_000_00)
    answer = client.post("/v1/merchants", headers=ADMIN, json={**MERCHANT, "settlement_account": NOT_A_CARD})
    assert answer.status_code == 201, answer.text
    merchant_id, shop = answer.json()["id"], {"Authorization": f"Bearer {answer.json()['api_key']}"}
    pay(client, me, merchant_id, shop, "100.00")
    bank = SandboxBank(BANK_KEY, reserve_balance=10_000_00)
    bank.open_card(NOT_A_CARD)  # the merchant's account at the sandbox bank
    clock.advance(hours=24)
    vault = Vault.from_config(f"k1:{K1}", INDEX_KEY)
    settlement.settle(engine, bank, D, vault=vault)
    clock.advance(minutes=10)
    settlement.sync(engine, bank)
    [row] = settlement.settlements_of(engine, D)
    assert (row["state"], row["net"]) == ("paid", 99_40) and bank.card_balance(NOT_A_CARD) == 99_40
    assert_books_clean(engine)


# -- late runs: two worlds living the same days ---------------------------------------------------------------


@pytest.fixture
def twin_engine(db_url, request, tmp_path):  # type: ignore[no-untyped-def]
    """A second fresh database on the backend of `engine`: the world whose dates are settled late."""
    if db_url.startswith("sqlite"):
        target = tmp_path / "twin.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        urls: Iterator[str] = iter([f"sqlite:///{target}"])
    else:
        urls = _fresh_pg(request.getfixturevalue("pg_cluster"), request.getfixturevalue("pg_template"))
    twin = create_engine_from_url(next(urls))
    try:
        yield twin
    finally:
        twin.dispose()
        next(urls, None)  # drops the PostgreSQL database


@dataclass
class World:
    engine: object
    client: TestClient
    me: str = ""
    merchant_id: str = ""
    shop: dict = field(default_factory=dict)
    bank: SandboxBank | None = None
    payments: list[str] = field(default_factory=list)

    def settle(self, day: dt.date) -> None:
        settlement.settle_days(self.engine, self.bank, day, card_of=card_of)

    def sync(self) -> None:
        settlement.sync(self.engine, self.bank)

    def rows(self, days: list[dt.date]) -> dict[str, dict]:
        """Each date's row as its answer tells it; `waiting` and `nothing` alike (whether an earlier payout
        was still at the bank when the date was settled depends on when that was)."""
        with reading(self.engine) as connection:
            found = [
                r for day in days for r in settlement.explain(connection, settlement.settlements_of(self.engine, day))
            ]
        return {
            r["business_date"]: {
                **{k: r[k] for k in FIGURES},
                "state": "none" if r["state"] in ("waiting", "nothing") else r["state"],
            }
            for r in found
        }


@contextmanager
def world(engine, clock) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """An app on `engine` (the settings of `test_settlement`'s client), a funded customer and a merchant."""
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
        here = World(engine, test_client)
        _payer, here.me = make_customer(test_client, engine, "13812345678", "531", 100_000_00)
        here.merchant_id, here.shop = make_merchant(test_client)
        yield here


def bank_for(here: World, declines: dict[dt.date, dt.timedelta]) -> SandboxBank:
    """The world's bank, declining the payouts of the dates given, each after its processing time."""
    plan = FaultPlan.reliable()
    for day, processing in declines.items():
        order_id = settlement.settlement_order_id(here.merchant_id, day)
        plan = plan.with_script(order_id, OrderScript(processing=processing, decline=True))
    return SandboxBank(BANK_KEY, reserve_balance=100_000_00, plan=plan)


def test_a_payout_failing_after_the_next_date_ends_is_paid_again_as_on_time(client, engine, twin_engine, clock):
    """D's payout is held on time and fails only on D+2; D+1 is settled on time in one world (before the
    failure) and late in the other (after it). Late, D+1 pays only its own money still, as on time, and D's
    is paid again with D+2's settlement in both."""
    with world(engine, clock) as on_time, world(twin_engine, clock) as late:
        both = (on_time, late)
        for w in both:
            pay(w.client, w.me, w.merchant_id, w.shop, "100.00")  # D: 99.40
        clock.advance(hours=15)  # D+1 00:30
        for w in both:
            w.settle(D)  # no bank yet: held
        clock.advance(hours=9)
        for w in both:
            pay(w.client, w.me, w.merchant_id, w.shop, "50.00")  # D+1: 49.70
        clock.advance(hours=15)  # D+2 00:30
        on_time.settle(D + DAY)
        clock.advance(minutes=30)
        for w in both:  # the bank gets the held payouts and declines D's
            w.bank = bank_for(w, {D: dt.timedelta(0)})
            wallets.recover_pending_orders(w.engine, w.bank, lambda owner, card: CARD_MERCHANT)
            clock.advance(minutes=10)
            w.sync()
        clock.advance(hours=1)
        late.settle(D + DAY)
        clock.advance(hours=8)
        for w in both:
            pay(w.client, w.me, w.merchant_id, w.shop, "20.00")  # D+2: 19.88
        clock.advance(hours=15)  # D+3 00:30
        for w in both:
            w.settle(D + 2 * DAY)
        clock.advance(minutes=10)
        days = [D, D + DAY, D + 2 * DAY]
        for w in both:
            w.sync()
        assert late.rows(days) == on_time.rows(days)
        got = late.rows(days)
        assert [got[d.isoformat()]["net"] for d in days] == [99_40, 49_70, 99_40 + 19_88]
        assert got[D.isoformat()]["retried_on"] == D + 2 * DAY
        for w in both:
            assert balance(w.engine, f"wallet.{w.merchant_id}") == 0
            assert_books_clean(w.engine)


@pytest.mark.parametrize("seed", [1, 12, 25])  # 12 and 25 draw a slow failure before late dates
def test_settling_late_gives_the_rows_of_settling_on_time(client, engine, twin_engine, clock, seed):
    """Random days of takings and same-day refunds, some payouts declined at once and some a day and more
    after they were sent; one world settles every date on time, the other skips dates and catches up. (Before
    dates paid from the wallet's balance at the end of the date, a late date paid a payout failed after its
    end at once, which on time waits for a later date.)"""
    draw = random.Random(seed)
    days = [D + n * DAY for n in range(6)]
    on_time_days = {days[0]} | {d for d in days[1:] if draw.random() < 0.4}
    # a payout the late world sends late fails late too: one failing after a day is drawn only for a date both
    # worlds send on time, so that both banks answer each payout at the same time
    slow = [0, 30]
    declines = {
        d: dt.timedelta(hours=draw.choice(slow if d in on_time_days else [0])) for d in days if draw.random() < 0.4
    }
    with world(engine, clock) as on_time, world(twin_engine, clock) as late:
        both = (on_time, late)
        for w in both:
            w.bank = bank_for(w, declines)
        for day in days:
            for _ in range(draw.randint(1, 3)):
                amount = f"{draw.randint(100, 30_000) / 100:.2f}"
                back = f"{draw.randint(1, int(float(amount) * 100)) / 100:.2f}" if draw.random() < 0.4 else None
                for w in both:
                    made = pay(w.client, w.me, w.merchant_id, w.shop, amount)
                    if back is not None:  # a refund its day's own takings cover, in either world
                        refund(w.client, w.shop, made["id"], back)
            clock.advance(hours=15)  # the next date, 00:30
            on_time.settle(day)
            if day in on_time_days:
                late.settle(day)
            clock.advance(minutes=10)
            for w in both:
                w.sync()
            clock.advance(hours=8, minutes=50)
        late.settle(days[-1])  # the catch-up of every date skipped
        for _ in range(3):
            clock.advance(hours=24)
            for w in both:
                w.sync()
        assert late.rows(days) == on_time.rows(days)
        for w in both:
            assert_books_clean(w.engine)
