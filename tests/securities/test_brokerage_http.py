"""Brokerage over HTTP on SQLite and PostgreSQL (issue 16, slice 2): a customer opens a brokerage account,
moves cash from the wallet (银证转账), and trades a share with another customer through the exchange
simulator; the trade, the fees (to the fen, by hand), T+1, partial fills, cancels, expiry at the close,
the opening auction and market orders are booked on the ledger, whose audit passes after each scenario;
every refusal (wrong lot, off tick, outside the band, selling shares bought today, an unknown
instrument, out of hours, short cash, a board not permitted) changes nothing."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers, get_account
from puhui.ledger.tables import accounts, transfers
from puhui.securities import accounts as brokerage
from puhui.securities import daily_assets, gateway, orders
from puhui.securities.tables import SECURITIES_TABLES
from puhui.settings import Settings
from puhui.wealth.suitability.service import CURRENT, record_answers
from tests.identity.helpers import ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1, LI, ZHANG, login, make_staff, register

THURSDAY = dt.datetime(2026, 12, 3, 10, 0, tzinfo=clock_module.CHINA)  # continuous trading
WALLET = 300_000_00


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=86_400,
    )
    gateway._cache.clear()
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def at(clock, hour: int, minute: int, days: int = 0) -> None:  # type: ignore[no-untyped-def]
    clock.set(dt.datetime.combine(THURSDAY.date() + dt.timedelta(days=days), dt.time(hour, minute), clock_module.CHINA))


def cash(engine, account_id: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, account_id)
    return 0 if account is None else account.credits_posted - account.debits_posted


def snapshot(engine) -> dict:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        state = {t.name: sorted(map(tuple, connection.execute(select(t)).all()), key=repr) for t in SECURITIES_TABLES}
        state["accounts"] = connection.execute(select(accounts).order_by(accounts.c.id)).all()
        state["transfers"] = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
        state["outbox"] = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
    return state


def assert_audit_clean(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
    assert report.ok, report


def problem(answer, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code, answer.json()


def call(client, path: str, headers: dict, key: str, json: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, headers={**headers, "Idempotency-Key": key}, json=json)


def answers(highest: bool = True) -> dict[str, str]:
    """The current questionnaire answered with every question's highest-scoring choice (C5), or lowest (C1)."""
    pick = max if highest else min
    return {q.id: pick(q.choices, key=lambda c: c.score).key for q in CURRENT.questions}


def take_questionnaire(client, me: dict, key: str, answered: dict[str, str] | None = None) -> dict:  # type: ignore[no-untyped-def]
    """The customer answers the risk questionnaire over HTTP (风险测评; C5 unless other answers are given):
    what opening a brokerage account and buying need (投资者适当性)."""
    body = {"version": CURRENT.version, "answers": answers() if answered is None else answered}
    taken = call(client, "/v1/wealth/questionnaire/answers", me, f"questionnaire-{key}", body)
    assert taken.status_code == 201, taken.text
    return taken.json()


def expire_assessment(engine, clock, customer_id: str) -> None:  # type: ignore[no-untyped-def]
    """A second later, a new questionnaire that expires at once: from then the customer holds no current
    assessment (the latest one is the customer's, and it is no longer valid)."""
    clock.advance(seconds=1)
    transaction(engine, lambda uow: record_answers(uow, customer_id, CURRENT.version, answers(), valid_days=0))


def investor(client, engine, person: dict, cny: int) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    """A customer with a funded wallet, a current risk assessment (C5: any security is suitable), a
    brokerage account on the platform's terms and `cny` fen moved into it (a rate or a board permission is
    staff's to set: `staff_sets`)."""
    created = register(client, person)
    top_up = Transfer(
        f"fund.{created['id']}", "platform.reserve_bank.CNY", created["wallet_account_id"], WALLET, "CNY", "top_up"
    )
    assert [r.value for r in transaction(engine, lambda uow: create_transfers(uow, [top_up]))] == ["ok"]
    me = login(client, person)
    take_questionnaire(client, me, created["id"])
    opened = call(client, "/v1/securities/accounts", me, f"open-{created['id']}", {})
    assert opened.status_code == 201, opened.text
    moved = call(
        client, "/v1/securities/transfers", me, f"in-{created['id']}", {"direction": "in", "amount": f"{cny / 100:.2f}"}
    )
    assert moved.status_code == 201, moved.text
    return created["id"], me


def asset_history(engine, customer_id: str) -> None:  # type: ignore[no-untyped-def]
    """The account's assets now recorded as its close (日终资产) on each of the 20 trading days before today
    that has none, as if it had held them that long: what a board permission's 20-day average reads."""
    transaction(engine, lambda uow: daily_assets.backfill(uow, customer_id, clock_module.business_date()))


STAFF_CALLS = itertools.count(1)


def staff_sets(client, customer_id: str, what: str, body: dict, staff: dict | None = None):  # type: ignore[no-untyped-def]
    """Staff (a new operator unless given) set a customer's `commission` rate or grant or revoke a board in
    `permissions`: the staff-only calls, each under a new Idempotency-Key."""
    n = next(STAFF_CALLS)
    staff = staff if staff is not None else make_staff(client, "operator", f"operator.terms{n}")
    return call(client, f"/v1/securities/accounts/{customer_id}/{what}", staff, f"{what}-{n}", body)


def deposit(engine, customer_id: str, code: str, quantity: int) -> None:  # type: ignore[no-untyped-def]
    transaction(engine, lambda uow: orders.deposit_shares(uow, customer_id, code, quantity, f"{customer_id}.{code}"))


def order(
    client, me: dict, key: str, side: str, quantity: int, price: str | None = "10.50", code: str = "600000", **more
):  # type: ignore[no-untyped-def]
    body = {"code": code, "side": side, "quantity": quantity, **({"price": price} if price else {}), **more}
    return call(client, "/v1/securities/orders", me, key, body)


def position(client, me: dict, code: str = "600000") -> dict:  # type: ignore[no-untyped-def]
    held = client.get("/v1/securities/positions", headers=me)
    assert held.status_code == 200, held.text
    return next((p for p in held.json()["positions"] if p["code"] == code), {})


def two_traders(client, engine) -> tuple[str, dict, str, dict]:  # type: ignore[no-untyped-def]
    zhang, z = investor(client, engine, ZHANG, 50_000_00)
    li, lee = investor(client, engine, LI, 1_000_00)
    deposit(engine, li, "600000", 1000)
    return zhang, z, li, lee


def test_a_trade_is_booked_with_fees_to_the_fen(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    sell = order(client, lee, "s1", "sell", 500, "10.50")
    assert sell.status_code == 201 and sell.json()["status"] == "open", sell.text
    assert sell.json()["frozen_shares"] == 500 and sell.json()["frozen_cash"] == "5.00"
    buy = order(client, z, "b1", "buy", 500, "10.60")  # trades at the resting order's price, 10.50
    assert buy.status_code == 201, buy.text
    # value 500 × 10.50 = 5250.00; buyer: commission max(1.3125, 5) = 5.00, transfer fee 0.0525 → 0.05
    assert buy.json() | {} == buy.json() and buy.json()["status"] == "filled"
    assert (buy.json()["value"], buy.json()["commission"], buy.json()["transfer_fee"], buy.json()["stamp_duty"]) == (
        "5250.00",
        "5.00",
        "0.05",
        "0.00",
    )
    seller = client.get(f"/v1/securities/orders/{sell.json()['id']}", headers=lee).json()
    # seller: commission 5.00, stamp duty 2.625 → 2.63 (half-up), transfer fee 0.05
    assert (seller["status"], seller["commission"], seller["stamp_duty"], seller["transfer_fee"]) == (
        "filled",
        "5.00",
        "2.63",
        "0.05",
    )
    assert cash(engine, brokerage.cash_account(zhang)) == 50_000_00 - 5250_00 - 5_05
    assert cash(engine, brokerage.cash_account(li)) == 1_000_00 + 5250_00 - 7_68
    assert cash(engine, brokerage.frozen_cash_account(zhang)) == cash(engine, brokerage.frozen_cash_account(li)) == 0
    assert cash(engine, brokerage.COMMISSION_INCOME) == 10_00
    assert cash(engine, brokerage.STAMP_DUTY_PAYABLE) == 2_63
    assert cash(engine, brokerage.TRANSFER_FEE_PAYABLE) == 10
    assert position(client, z) == {"code": "600000", "total": 500, "available": 0, "frozen": 0, "cost_basis": "5255.05"}
    assert position(client, lee) == {
        "code": "600000",
        "total": 500,
        "available": 500,
        "frozen": 0,
        "cost_basis": "0.00",
    }
    with engine.connect() as connection:
        kinds = [r[0] for r in connection.execute(select(outbox.c.type).where(outbox.c.topic == "securities"))]
    assert kinds.count("securities.trade") == 1 and kinds.count("securities.order_ended") == 2
    assert kinds.count("securities.order_placed") == 2 and kinds.count("securities.cash_transferred") == 2
    summary = client.get("/v1/securities/account", headers=z).json()
    assert summary["cash"] == "44744.95" and summary["frozen_cash"] == "0.00" and len(summary["positions"]) == 1
    assert_audit_clean(engine)


def test_large_trade_commission_above_the_minimum(client, engine, clock):
    zhang, z = investor(client, engine, ZHANG, 100_000_00)
    assert staff_sets(client, zhang, "commission", {"commission_rate": "0.0003"}).status_code == 200
    li, lee = investor(client, engine, LI, 10_00)
    deposit(engine, li, "600519", 100)
    assert order(client, lee, "s1", "sell", 100, "1450.00", "600519").status_code == 201
    buy = order(client, z, "b1", "buy", 50, "1450.00", "600519")
    problem(buy, 422, "lot_size_invalid")
    buy = order(client, z, "b2", "buy", 100, "1450.00", "600519")
    # 100 × 1450.00 = 145000.00 > 100000.00 in cash
    problem(buy, 409, "insufficient_cash")
    assert (
        call(client, "/v1/securities/transfers", z, "in-2", {"direction": "in", "amount": "50000.00"}).status_code
        == 201
    )
    buy = order(client, z, "b3", "buy", 100, "1450.00", "600519").json()
    # commission 145000 × 0.0003 = 43.50, transfer fee 1.45
    assert (buy["status"], buy["commission"], buy["transfer_fee"]) == ("filled", "43.50", "1.45")
    seller = client.get("/v1/securities/orders", headers=lee).json()["orders"][0]
    # seller at 0.00025: 36.25; stamp duty 72.50; transfer fee 1.45
    assert (seller["commission"], seller["stamp_duty"], seller["transfer_fee"]) == ("36.25", "72.50", "1.45")
    assert cash(engine, brokerage.cash_account(li)) == 10_00 + 145_000_00 - 36_25 - 72_50 - 1_45
    assert_audit_clean(engine)


def test_t_plus_one_refuses_todays_shares_then_sells_them_tomorrow(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, lee, "s1", "sell", 500).status_code == 201
    assert order(client, z, "b1", "buy", 500).json()["status"] == "filled"
    before = snapshot(engine)
    problem(order(client, z, "s-today", "sell", 500), 409, "shares_not_sellable")
    assert snapshot(engine) == before
    at(clock, 10, 0, days=1)  # Friday
    z, lee = login(client, ZHANG), login(client, LI)
    assert position(client, z)["available"] == 500
    sold = order(client, z, "s-tomorrow", "sell", 500, "10.40")
    assert sold.status_code == 201 and sold.json()["status"] == "open", sold.text
    assert position(client, z) == {
        "code": "600000",
        "total": 500,
        "available": 0,
        "frozen": 500,
        "cost_basis": "5255.05",
    }
    bought = order(client, lee, "b-back", "buy", 200, "10.40")
    assert bought.json()["status"] == "filled", bought.text
    # a sale takes its share of the average cost: 5255.05 × 200 / 500 = 2102.02
    assert position(client, z) == {
        "code": "600000",
        "total": 300,
        "available": 0,
        "frozen": 300,
        "cost_basis": "3153.03",
    }
    assert order(client, lee, "b-rest", "buy", 300, "10.40").json()["status"] == "filled"
    assert position(client, z) == {}
    sale = client.get("/v1/securities/orders", headers=z).json()["orders"][0]
    # 500 × 10.40 = 5200.00: commission 5.00 (once, over two fills), stamp duty 2.60, transfer fee 0.05
    assert (sale["status"], sale["commission"], sale["stamp_duty"], sale["transfer_fee"]) == (
        "filled",
        "5.00",
        "2.60",
        "0.05",
    )
    assert_audit_clean(engine)


def test_partial_fill_then_cancel_charges_fees_on_what_traded(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, lee, "s1", "sell", 300).status_code == 201
    buy = order(client, z, "b1", "buy", 500).json()
    assert (buy["status"], buy["filled"], buy["frozen_cash"]) == ("open", 300, "2105.05")
    cancelled = call(client, f"/v1/securities/orders/{buy['id']}/cancel", z, "c1")
    assert cancelled.status_code == 200, cancelled.text
    done = cancelled.json()
    # 300 × 10.50 = 3150.00: commission 5.00 (minimum, once), transfer fee 0.0315 → 0.03
    assert (done["status"], done["filled"], done["cancelled"], done["commission"], done["transfer_fee"]) == (
        "cancelled",
        300,
        200,
        "5.00",
        "0.03",
    )
    assert cash(engine, brokerage.cash_account(zhang)) == 50_000_00 - 3150_00 - 5_03
    assert cash(engine, brokerage.frozen_cash_account(zhang)) == 0
    problem(call(client, f"/v1/securities/orders/{buy['id']}/cancel", z, "c2"), 409, "order_not_cancellable")
    problem(call(client, f"/v1/securities/orders/{buy['id']}/cancel", lee, "c3"), 404, "order_not_found")
    assert_audit_clean(engine)


def test_cancelled_sell_without_fills_costs_nothing(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    sell = order(client, lee, "s1", "sell", 1000, "11.00").json()
    assert position(client, lee) == {
        "code": "600000",
        "total": 1000,
        "available": 0,
        "frozen": 1000,
        "cost_basis": "0.00",
    }
    done = call(client, f"/v1/securities/orders/{sell['id']}/cancel", lee, "c1").json()
    assert (done["status"], done["commission"], done["frozen_shares"]) == ("cancelled", "0.00", 0)
    assert position(client, lee)["available"] == 1000
    assert cash(engine, brokerage.cash_account(li)) == 1_000_00
    assert_audit_clean(engine)


def test_orders_left_at_the_close_expire_and_release(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    buy = order(client, z, "b1", "buy", 200, "10.00").json()
    assert buy["frozen_cash"] == "2005.02"  # 2000.00 + commission 5.00 + transfer fee 0.02
    at(clock, 15, 1)
    problem(order(client, z, "late", "buy", 100), 409, "market_closed")
    operator = make_staff(client, "operator")
    moved = call(client, "/v1/securities/market/advance", operator, "adv-1")
    assert moved.status_code == 200 and "600000" in moved.json()["codes"], moved.text
    done = client.get(f"/v1/securities/orders/{buy['id']}", headers=z).json()
    assert (done["status"], done["cancelled"], done["commission"]) == ("expired", 200, "0.00")
    assert cash(engine, brokerage.cash_account(zhang)) == 50_000_00
    assert_audit_clean(engine)


def test_opening_auction_fills_at_one_price_across_a_rebuild(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    at(clock, 9, 16, days=1)  # Friday's opening auction
    z, lee = login(client, ZHANG), login(client, LI)
    assert order(client, lee, "s1", "sell", 300, "10.40").json()["status"] == "open"
    gateway._cache.clear()  # a restart: the book comes back from the persisted orders
    rebuilt = gateway.rebuilds
    assert order(client, z, "b1", "buy", 500, "10.60").json()["status"] == "open"
    assert gateway.rebuilds == rebuilt + 1
    at(clock, 9, 26, days=1)
    assert call(client, "/v1/securities/market/advance", make_staff(client, "operator"), "adv").status_code == 200
    buy = client.get("/v1/securities/orders", headers=z).json()["orders"][0]
    # 300 trade at any price from 10.40 to 10.60, but every buy above the price must fill and only 300
    # are offered: the price is the buy's own 10.60, and 200 wait for continuous trading
    assert (buy["filled"], buy["value"], buy["status"]) == (300, "3180.00", "open")
    assert_audit_clean(engine)


def test_books_stay_right_across_workers(client, engine, clock):
    """Two workers, each with its own cache: each sees the other's orders through the book version."""
    zhang, z, li, lee = two_traders(client, engine)
    worker_a: dict = {}
    worker_b: dict = {}
    gateway._cache = worker_a
    assert order(client, lee, "s1", "sell", 200, "10.50").status_code == 201
    gateway._cache = worker_b
    assert order(client, lee, "s2", "sell", 300, "10.40").status_code == 201
    gateway._cache = worker_a  # its cached book misses s2
    rebuilt = gateway.rebuilds
    buy = order(client, z, "b1", "buy", 500, "10.50").json()
    assert gateway.rebuilds == rebuilt + 1
    assert (buy["status"], buy["value"]) == ("filled", "5220.00")  # 300 × 10.40 first, then 200 × 10.50
    assert order(client, z, "b2", "buy", 100, "10.00").status_code == 201
    assert gateway.rebuilds == rebuilt + 1  # one worker alone never reloads
    gateway._cache = {}
    assert_audit_clean(engine)


def test_market_buy_freezes_the_band_top_and_cancels_its_rest(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, lee, "s1", "sell", 100, "10.50").status_code == 201
    buy = order(client, z, "m1", "buy", 300, None, type="best5_ioc").json()
    # 100 filled at 10.50, 200 cancelled; fees on 1050.00: 5.00 + 0.01
    assert (buy["status"], buy["filled"], buy["cancelled"], buy["commission"], buy["transfer_fee"]) == (
        "cancelled",
        100,
        200,
        "5.00",
        "0.01",
    )
    assert cash(engine, brokerage.cash_account(zhang)) == 50_000_00 - 1050_00 - 5_01
    problem(order(client, z, "m2", "buy", 100, "10.50", type="best5_ioc"), 422, "price_not_allowed")
    assert_audit_clean(engine)


def test_idempotency_key_replay_places_one_order(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    first = order(client, z, "same", "buy", 100, "10.00")
    again = order(client, z, "same", "buy", 100, "10.00")
    assert first.json() == again.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert len(client.get("/v1/securities/orders", headers=z).json()["orders"]) == 1
    assert cash(engine, brokerage.frozen_cash_account(zhang)) == 1000_00 + 5_01


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"side": "buy", "quantity": 150, "price": "10.50"}, 422, "lot_size_invalid"),
        ({"side": "buy", "quantity": 100, "price": "10.505"}, 422, "price_off_tick"),
        ({"side": "buy", "quantity": 100, "price": "11.56"}, 422, "price_outside_band"),
        ({"side": "sell", "quantity": 100, "price": "9.44"}, 422, "price_outside_band"),
        ({"side": "buy", "quantity": 100, "price": "10.50", "code": "600001"}, 422, "unknown_instrument"),
        ({"side": "buy", "quantity": 100, "price": "380.00", "code": "300750"}, 403, "board_not_permitted"),
        ({"side": "buy", "quantity": 200, "price": "110.00", "code": "688981"}, 403, "board_not_permitted"),
        ({"side": "buy", "quantity": 100_000, "price": "10.50"}, 409, "insufficient_cash"),
        ({"side": "sell", "quantity": 1100, "price": "10.50"}, 409, "shares_not_sellable"),
        ({"side": "sell", "quantity": 150, "price": "10.50"}, 422, "lot_size_invalid"),
        ({"side": "buy", "quantity": 2_000_000, "price": "10.50"}, 422, "order_too_large"),
    ],
)
def test_refusals_change_nothing(client, engine, clock, body, status, code):
    zhang, z = investor(client, engine, ZHANG, 50_000_00)
    deposit(engine, zhang, "600000", 1000)
    before = snapshot(engine)
    problem(order(client, z, "bad", **{"code": "600000", **body}), status, code)
    assert snapshot(engine) == before


@pytest.mark.parametrize(("hour", "minute", "days"), [(8, 0, 1), (12, 0, 0), (15, 30, 0), (10, 0, 2)])
def test_out_of_hours_is_market_closed(client, engine, clock, hour, minute, days):
    zhang, z = investor(client, engine, ZHANG, 50_000_00)
    at(clock, hour, minute, days)  # before the open, lunch, after the close, a Saturday
    z = login(client, ZHANG)
    before = snapshot(engine)
    problem(order(client, z, "late", "buy", 100), 409, "market_closed")
    assert snapshot(engine) == before


def test_transfers_out_within_cash_and_no_terms_of_ones_own(client, engine, clock):
    zhang, z = investor(client, engine, ZHANG, 1_000_00)
    before = snapshot(engine)
    problem(
        call(client, "/v1/securities/transfers", z, "out-big", {"direction": "out", "amount": "1000.01"}),
        409,
        "insufficient_cash",
    )
    assert snapshot(engine) == before
    out = call(client, "/v1/securities/transfers", z, "out-1", {"direction": "out", "amount": "400.00"})
    assert out.status_code == 201 and out.json()["direction"] == "out", out.text
    summary = client.get("/v1/securities/account", headers=z).json()
    assert (summary["cash"], summary["chinext_permitted"], summary["star_permitted"]) == ("600.00", False, False)
    assert summary["commission_rate"] == "0.00025"  # the platform's
    before = snapshot(engine)
    for rate in ("0.004", "0.0031", "0.01", "0.0003", "0.00001", "0"):  # the rate is not the customer's to set
        problem(
            call(client, "/v1/securities/accounts", z, f"rate-{rate}", {"commission_rate": rate}),
            422,
            "invalid_request",
        )
    problem(order(client, z, "cyb", "buy", 100, "1.00", "300750"), 403, "board_not_permitted")  # staff grant it
    assert snapshot(engine) == before
    assert_audit_clean(engine)


def test_no_account_and_operator_listing(client, engine, clock):
    created = register(client, ZHANG)
    me = login(client, ZHANG)
    problem(client.get("/v1/securities/account", headers=me), 404, "securities_account_not_found")
    operator = make_staff(client, "operator")
    body = {
        "code": "601318",
        "exchange": "SSE",
        "board": "main",
        "name": "中国平安",
        "listed_on": "2007-03-01",
        "previous_close": "55.00",
    }
    listed = call(client, "/v1/securities/instruments", operator, "l1", body)
    assert listed.status_code == 201 and listed.json()["units_ledger"] == "SEC:601318", listed.text
    problem(
        call(client, "/v1/securities/instruments", operator, "l2", {**body, "previous_close": "56.00"}),
        409,
        "instrument_exists",
    )
    problem(
        call(client, "/v1/securities/instruments", operator, "l3", {**body, "board": "star"}), 422, "instrument_invalid"
    )
    problem(call(client, "/v1/securities/instruments", me, "l4", body), 403, "forbidden")
    assert created["id"]


def test_a_resting_market_order_survives_a_rebuild_and_cancels(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, lee, "s1", "sell", 100, "10.60").status_code == 201
    best = order(client, z, "cb", "buy", 200, None, type="own_best")  # no bid yet: nothing to rest at
    assert best.json()["status"] == "cancelled" and best.json()["frozen_cash"] == "0.00", best.text
    bid = order(client, z, "bid", "buy", 100, "10.20").json()
    rest = order(client, z, "cb2", "buy", 200, None, type="counterparty_best").json()
    assert (rest["status"], rest["filled"]) == ("open", 100)  # 100 at 10.60; 100 rest at 10.60
    gateway._cache.clear()
    sell = order(client, lee, "s2", "sell", 100, "10.20").json()  # meets the best bid, 10.60, first
    assert (sell["status"], sell["value"]) == ("filled", "1060.00")
    done = call(client, f"/v1/securities/orders/{bid['id']}/cancel", z, "c-bid").json()
    assert done["status"] == "cancelled"
    assert client.get(f"/v1/securities/orders/{rest['id']}", headers=z).json()["status"] == "filled"
    assert cash(engine, brokerage.frozen_cash_account(zhang)) == 0
    assert_audit_clean(engine)


def test_suitability_level_comes_from_the_questionnaire(client, engine, clock):
    from puhui.wealth.suitability.service import CURRENT, record_answers

    created = register(client, ZHANG)
    answers = {q.id: max(q.choices, key=lambda c: c.score).key for q in CURRENT.questions}
    transaction(engine, lambda uow: record_answers(uow, created["id"], CURRENT.version, answers))
    me = login(client, ZHANG)
    opened = call(client, "/v1/securities/accounts", me, "open", {})
    assert opened.status_code == 201, opened.text
    assert (opened.json()["suitability_level"], opened.json()["star_permitted"]) == ("C5", False)  # C5 is no grant
    assert opened.json()["commission_rate"] == "0.00025" and opened.json()["cash"] == "0.00"
    # a later questionnaire is the account's level from then on (it kept C5 from its opening)
    lowest = {q.id: min(q.choices, key=lambda c: c.score).key for q in CURRENT.questions}
    clock.advance(seconds=1)
    transaction(engine, lambda uow: record_answers(uow, created["id"], CURRENT.version, lowest))
    assert client.get("/v1/securities/account", headers=me).json()["suitability_level"] == "C1"


def test_no_cancels_in_the_last_minutes_of_the_opening_auction(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    at(clock, 9, 16, days=1)
    z = login(client, ZHANG)
    bid = order(client, z, "b1", "buy", 100, "10.20").json()
    at(clock, 9, 22, days=1)
    before = snapshot(engine)
    problem(call(client, f"/v1/securities/orders/{bid['id']}/cancel", z, "c1"), 409, "order_not_cancellable")
    assert snapshot(engine) == before
    at(clock, 9, 27, days=1)  # after the auction, before 09:30: cancels again
    done = call(client, f"/v1/securities/orders/{bid['id']}/cancel", z, "c2")
    assert done.status_code == 200 and done.json()["status"] == "cancelled", done.text
    assert cash(engine, brokerage.frozen_cash_account(zhang)) == 0
    assert_audit_clean(engine)
