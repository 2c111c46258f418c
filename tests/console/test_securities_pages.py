"""The stock pages of the customer app (/app/securities) over plain HTTP, on SQLite and PostgreSQL: a
customer opens a brokerage account, moves money in from the wallet (银证转账), places a buy that fills
against another customer's sell, sees the position (sellable 0 today under T+1, cost basis, value and
P&L), the order and its fees, the quote (last, limits, five levels, a chart drawn on the server) and
the daily statement (交割单) — every figure the one the ledger holds. Refused orders say why and change
nothing; a cancel releases the frozen cash; another customer neither sees nor cancels the orders."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.ledger.service import get_account
from puhui.ledger.tables import transfers
from puhui.money import format_minor
from puhui.securities import accounts as brokerage
from puhui.securities import gateway, orders
from puhui.securities.tables import securities_orders
from puhui.wealth.suitability.service import CURRENT

from .test_customer_pages import post_form
from .test_insurance_pages import audit_clean, customer, staff_token
from .world import hidden, person

THURSDAY = dt.datetime(2026, 12, 3, 10, 0, tzinfo=clock_module.CHINA)
HOME = "/app/securities"


def ledger(engine, account_id: str) -> str:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, account_id)
    return format_minor(0 if account is None else account.credits_posted - account.debits_posted, 2)


def shown(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert found is not None, testid
    return found.group(1)


def money(text: str) -> str:
    """¥54,744.95 → 54744.95 (the page's figure, without the currency's format)."""
    return text.replace("¥", "").replace(",", "").replace("\xa0", "")


def take_questionnaire(client) -> None:  # type: ignore[no-untyped-def]
    """The risk questionnaire (风险测评) on /app/suitability, every question's highest-scoring choice: C5."""
    page = client.get("/app/suitability").text
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    fields = {f"q_{q.id}": max(q.choices, key=lambda c: c.score).key for q in CURRENT.questions}
    answered = client.post(
        "/app/suitability", data={**hidden(page), "version": version, **fields}, follow_redirects=False
    )
    assert answered.status_code == 303, answered.text


def open_brokerage(client, engine, n: int, cny: str) -> str:  # type: ignore[no-untyped-def]
    cid = customer(client, engine, n, fen=100_000_00)
    first = client.get(HOME)
    assert first.status_code == 200 and "开立证券账户" in first.text and 'href="/app/suitability"' in first.text
    refused = post_form(client, HOME, f"{HOME}/open")  # 投资者适当性: no account before the questionnaire
    assert refused.status_code == 409 and "请先完成风险测评" in refused.text, refused.text
    take_questionnaire(client)
    assert post_form(client, HOME, f"{HOME}/open").status_code == 303
    moved = post_form(client, HOME, f"{HOME}/transfer", direction="in", amount=cny)
    assert moved.status_code == 303, moved.text
    return cid


def log_in_as(client, n: int) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    form = hidden(client.get("/app/login").text)
    signed = client.post("/app/login", data={**form, "phone": person(n)["phone"], "password": person(n)["password"]})
    assert signed.status_code == 200 and "/app/logout" in signed.text


def counts(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(t)).scalar_one() for t in (securities_orders, transfers)
        )


def own_orders(engine, customer_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return orders.list_orders(connection, customer_id, 20)


def test_a_customer_trades_and_every_page_shows_what_the_ledger_holds(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    seller = open_brokerage(client, engine, 41, "1000.00")
    transaction(engine, lambda uow: orders.deposit_shares(uow, seller, "600000", 1000, "console-seller"))
    sold = post_form(client, HOME, f"{HOME}/order", code="600000", side="sell", quantity="500", price="10.50")
    assert sold.status_code == 303, sold.text

    buyer = open_brokerage(client, engine, 42, "60000.00")
    page = client.get(HOME).text
    assert money(shown(page, "cash")) == ledger(engine, brokerage.cash_account(buyer)) == "60000.00"
    assert "转账已完成" in page
    bought = post_form(client, HOME, f"{HOME}/order", code="600000", side="buy", quantity="500", price="10.50")
    assert bought.status_code == 303, bought.text
    page = client.get(HOME).text
    # 500 × 10.50 = 5,250.00 + commission 5.00 + transfer fee 0.05: cash 60,000.00 − 5,255.05
    assert money(shown(page, "cash")) == ledger(engine, brokerage.cash_account(buyer)) == "54744.95"
    assert money(shown(page, "frozen-cash")) == ledger(engine, brokerage.frozen_cash_account(buyer)) == "0.00"
    position = page[page.index('data-testid="position-600000"') :]
    assert [shown(position, k) for k in ("total", "available", "frozen")] == ["500", "0", "0"]  # T+1: none sellable
    assert ledger(engine, "sec.600000." + buyer) == "5.00"  # 500 shares on the unit ledger (scale 0, read as fen)
    assert [money(shown(position, k)) for k in ("cost", "value", "pnl")] == ["5255.05", "5250.00", "-5.05"]
    order = own_orders(engine, buyer)[0]
    assert order["status"] == "filled" and f'data-testid="order-{order["id"]}"' in page and "已成交" in page

    before = counts(engine)
    for fields, reason in (
        ({"quantity": "150", "price": "10.50", "side": "buy"}, "买入须为100股的整数倍"),
        ({"quantity": "100", "price": "12.00", "side": "buy"}, "超出今日涨跌停价"),
        ({"quantity": "500", "price": "10.50", "side": "sell"}, "当日买入的股票下一交易日才能卖出"),
        ({"quantity": "100000", "price": "10.50", "side": "buy"}, "可用资金不足"),
    ):
        refused = post_form(client, HOME, f"{HOME}/order", code="600000", **fields)
        assert refused.status_code in (409, 422) and reason in refused.text, (fields, refused.status_code)
    assert counts(engine) == before

    assert (
        post_form(client, HOME, f"{HOME}/order", code="600000", side="buy", quantity="100", price="10.00").status_code
        == 303
    )
    waiting = own_orders(engine, buyer)[0]
    assert (
        waiting["status"] == "open" and ledger(engine, brokerage.frozen_cash_account(buyer)) == waiting["frozen_cash"]
    )
    assert (
        money(shown(client.get(HOME).text, "frozen-cash")) == waiting["frozen_cash"] == "1005.01"
    )  # 1,000.00 + 5.00 + 0.01
    page = client.get(HOME).text
    assert f"{HOME}/orders/{waiting['id']}/cancel" in page

    log_in_as(client, 41)  # the seller neither sees nor cancels the buyer's order
    theirs = client.get(HOME).text
    assert waiting["id"] not in theirs and order["id"] not in theirs
    assert "4,744.95" not in theirs  # not the buyer's figures
    assert money(shown(theirs, "cash")) == ledger(engine, brokerage.cash_account(seller)) == "6242.32"
    stolen = post_form(client, HOME, f"{HOME}/orders/{waiting['id']}/cancel")
    assert stolen.status_code == 404 and own_orders(engine, buyer)[0]["status"] == "open"

    log_in_as(client, 42)
    cancelled = post_form(client, HOME, f"{HOME}/orders/{waiting['id']}/cancel")
    assert cancelled.status_code == 303, cancelled.text
    page = client.get(HOME).text
    assert own_orders(engine, buyer)[0]["status"] == "cancelled" and "已撤单" in page
    assert money(shown(page, "frozen-cash")) == ledger(engine, brokerage.frozen_cash_account(buyer)) == "0.00"
    assert money(shown(page, "cash")) == "54744.95"

    out = post_form(client, HOME, f"{HOME}/transfer", direction="out", amount="744.95")
    assert out.status_code == 303
    assert money(shown(client.get(HOME).text, "cash")) == ledger(engine, brokerage.cash_account(buyer)) == "54000.00"
    assert "可用资金不足" in post_form(client, HOME, f"{HOME}/transfer", direction="out", amount="54000.01").text

    statement = client.get(f"{HOME}/statement/2026-12-03")
    assert statement.status_code == 200
    assert money(shown(statement.text, "line-net")) == money(shown(statement.text, "net")) == "-5255.05"
    assert "交割单" in statement.text and "10.50" in statement.text
    audit_clean(engine)


def test_the_quote_page_shows_limits_five_levels_and_a_chart(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    seller = open_brokerage(client, engine, 43, "5000.00")
    transaction(engine, lambda uow: orders.deposit_shares(uow, seller, "600000", 1000, "console-quote"))
    for quantity, price in (("300", "10.50"), ("200", "10.60")):
        assert (
            post_form(
                client, HOME, f"{HOME}/order", code="600000", side="sell", quantity=quantity, price=price
            ).status_code
            == 303
        )
    assert (
        post_form(client, HOME, f"{HOME}/order", code="600000", side="buy", quantity="100", price="10.40").status_code
        == 303
    )
    page = client.get(f"{HOME}/quote/600000")
    assert page.status_code == 200
    html = page.text
    # previous close 10.50: limits ± 10% = 11.55 and 9.45; no trade yet
    assert [shown(html, k) for k in ("last", "previous-close", "limit-up", "limit-down")] == [
        "—",
        "10.50",
        "11.55",
        "9.45",
    ]
    asks = html[html.index('data-testid="asks"') : html.index('data-testid="bids"')]
    assert re.findall(r'"mono">([0-9.]+)</span><span>(\d+)<', asks) == [("10.60", "200"), ("10.50", "300")]
    assert "卖2" in asks and "买1" in html and "连续竞价" in html
    customer(client, engine, 44, fen=100_000_00)
    take_questionnaire(client)
    assert post_form(client, HOME, f"{HOME}/open").status_code == 303
    assert post_form(client, HOME, f"{HOME}/transfer", direction="in", amount="5000.00").status_code == 303
    assert (
        post_form(client, HOME, f"{HOME}/order", code="600000", side="buy", quantity="300", price="10.50").status_code
        == 303
    )
    html = client.get(f"{HOME}/quote/600000").text
    assert shown(html, "last") == "10.50"
    chart = html[html.index("<svg") : html.index("</svg>")]
    assert "<rect" in chart and "10.5" in chart  # the half hour's close, drawn on the server
    audit_clean(engine)


def test_a_customer_without_a_session_goes_to_log_in(client) -> None:  # type: ignore[no-untyped-def]
    answer = client.get(HOME, follow_redirects=False)
    assert answer.status_code in (302, 303) and "/app/login" in answer.headers["location"]


def test_the_ex_date_shows_the_dividend_and_bonus_shares_as_the_ledger_paid_them(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    holder = open_brokerage(client, engine, 45, "100.00")
    transaction(engine, lambda uow: orders.deposit_shares(uow, holder, "600000", 1001, "console-holder"))
    operator = staff_token(client, "operator", "operator.sec")
    plan = {"code": "600000", "record_date": "2026-12-03", "ex_date": "2026-12-04", "cash_per_10": "2.50"}
    announced = client.post(
        "/v1/securities/corporate-actions",
        headers={"Authorization": f"Bearer {operator}", "Idempotency-Key": "ca"},
        json={**plan, "bonus_per_10": "2"},
    )
    assert announced.status_code == 201, announced.text
    assert 'data-testid="received"' not in client.get(HOME).text
    clock.set(THURSDAY + dt.timedelta(days=1, hours=-1))  # Friday 09:00, the ex-date
    log_in_as(client, 45)
    moved = client.post(
        "/v1/securities/market/advance", headers={"Authorization": f"Bearer {operator}", "Idempotency-Key": "adv"}
    )
    assert moved.status_code == 200, moved.text
    page = client.get(HOME).text
    # 1,001 × 0.25 = 250.25 in cash; 1,001 × 0.2 = 200.2 → 200 bonus shares (the lone 0.2 fraction gets none)
    assert money(shown(page, "dividend")) == "250.25" and shown(page, "bonus") == "200"
    assert money(shown(page, "cash")) == ledger(engine, brokerage.cash_account(holder)) == "350.25"
    position = page[page.index('data-testid="position-600000"') :]
    assert [shown(position, k) for k in ("total", "available")] == ["1201", "1201"]  # 红股 sellable on the ex-date
    assert money(shown(position, "cost")) == "-250.25"  # deposited at no cost, less the dividend
    quote = client.get(f"{HOME}/quote/600000").text
    # (10.50 − 0.25) ÷ 1.2 = 8.541… → 8.54; limits 8.54 ± 10% = 9.39 and 7.69
    assert [shown(quote, k) for k in ("previous-close", "limit-up", "limit-down")] == ["8.54", "9.39", "7.69"]
    audit_clean(engine)
