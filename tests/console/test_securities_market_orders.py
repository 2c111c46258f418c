"""Market orders (市价委托) on the stock page of the customer app over plain HTTP, on SQLite and PostgreSQL:
a buy by quantity trades at the book's prices and cancels what is left, a sell of sellable shares at the
counterparty's best price rests its remainder, a protective price bounds it; the order list names the
kind, the protective price and the average fill price (never a price of None); the page tells how a
market order is filled and what it holds. Every refusal is told in the page's language, says what a
market order needs (its hours, the limit-up hold, the protective price, the board's lot) and changes
nothing; a kind the share's exchange does not take is refused before the API."""

from __future__ import annotations

import datetime as dt
import html
import re

from puhui.console import app_securities, i18n
from puhui.db import transaction
from puhui.securities import accounts as brokerage
from puhui.securities import gateway, orders

from .test_customer_pages import post_form
from .test_insurance_pages import audit_clean, staff_token
from .test_new_problem_codes import said
from .test_securities_pages import HOME, THURSDAY, counts, ledger, log_in_as, money, open_brokerage, own_orders, shown

MARKET = f"{HOME}/market-order"
ZH = i18n.Formatter("zh_CN").gettext


def market(client, **fields: str):  # type: ignore[no-untyped-def]
    """The market-order form as a browser sends it: a buy of 600000 at the best five levels unless told."""
    return post_form(client, HOME, MARKET, **{"code": "600000", "side": "buy", "type": "best5_ioc", **fields})


def limit(client, side: str, quantity: str, price: str, code: str = "600000"):  # type: ignore[no-untyped-def]
    placed = post_form(client, HOME, f"{HOME}/order", code=code, side=side, quantity=quantity, price=price)
    assert placed.status_code == 303, placed.text
    return placed


def order_line(page: str, order_id: str) -> str:
    start = page.index(f'data-testid="order-{order_id}"')
    return page[start : page.index("</li>", start)]


def test_a_market_buy_takes_the_books_prices_and_the_list_shows_kind_and_average(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    seller = open_brokerage(client, engine, 61, "1000.00")
    transaction(engine, lambda uow: orders.deposit_shares(uow, seller, "600000", 1000, "market-seller"))
    limit(client, "sell", "300", "10.50")
    limit(client, "sell", "200", "10.60")

    buyer = open_brokerage(client, engine, 62, "10000.00")
    page = client.get(HOME).text
    form = page[page.index('data-testid="market-order"') :]
    assert 'action="/app/securities/market-order"' in form and "市价委托" in form
    assert re.findall(r'<option value="([a-z0-9_]+)">', form[: form.index("</form>")])[-6:] == list(
        app_securities.MARKET_KINDS
    )
    assert "最优五档即时成交剩余转限价 (仅限上交所)" in form and "全额成交或撤销 (仅限深交所)" in form
    rules = form[form.index('data-testid="market-rules"') :]
    assert "9:30–11:30、13:00–14:57" in rules and "按当日涨停价" in rules and "剩余部分自动撤销" in rules
    quote = client.get(f"{HOME}/quote/600000").text
    assert "每股 11.55 元" in shown(quote, "market-hold")  # 10.50 + 10%: what a market buy holds a share

    bought = market(client, quantity="600")
    assert bought.status_code == 303, bought.text
    order = own_orders(engine, buyer)[0]
    # 300 × 10.50 + 200 × 10.60 = 5,270.00 within five levels; the 100 left are cancelled, not rested
    assert (order["type"], order["status"], order["filled"], order["cancelled"], order["value"]) == (
        "best5_ioc",
        "cancelled",
        500,
        100,
        "5270.00",
    )
    assert (order["commission"], order["stamp_duty"], order["transfer_fee"]) == ("5.00", "0.00", "0.05")
    page = client.get(HOME).text
    assert "委托已提交" in page
    assert money(shown(page, "cash")) == ledger(engine, brokerage.cash_account(buyer)) == "4724.95"
    assert money(shown(page, "frozen-cash")) == ledger(engine, brokerage.frozen_cash_account(buyer)) == "0.00"
    line = order_line(page, order["id"])
    assert shown(line, "price") == "600 @ 市价" and shown(line, "kind") == "最优五档即时成交剩余撤销"
    assert shown(line, "average") == "10.54"  # 5,270.00 ÷ 500
    assert "None" not in line and 'data-testid="protect"' not in line and "已撤单" in line
    assert f"{HOME}/orders/{order['id']}/cancel" not in page  # nothing left to cancel

    log_in_as(client, 61)  # the seller's limit orders show their own prices and what they filled at
    page = client.get(HOME).text
    sells = own_orders(engine, seller)
    assert [shown(order_line(page, o["id"]), "price") for o in sells] == ["200 @ 10.60", "300 @ 10.50"]
    assert [shown(order_line(page, o["id"]), "average") for o in sells] == ["10.60", "10.50"]
    assert 'data-testid="kind"' not in order_line(page, sells[0]["id"])
    audit_clean(engine)


def test_a_market_sell_of_sellable_shares_rests_its_rest_within_the_protective_price(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    buyer = open_brokerage(client, engine, 63, "5000.00")
    limit(client, "buy", "200", "10.40")
    seller = open_brokerage(client, engine, 64, "100.00")
    transaction(engine, lambda uow: orders.deposit_shares(uow, seller, "600000", 500, "market-sell"))

    sold = market(client, side="sell", type="counterparty_best", quantity="300", protect="10.40")
    assert sold.status_code == 303, sold.text
    order = own_orders(engine, seller)[0]
    # a limit order at the best bid, 10.40: 200 trade there, the other 100 wait at 10.40
    assert (order["status"], order["filled"], order["frozen_shares"], order["protect"]) == ("open", 200, 100, "10.40")
    page = client.get(HOME).text
    line = order_line(page, order["id"])
    assert shown(line, "price") == "300 @ 市价" and shown(line, "kind") == "对手方最优价格"
    assert shown(line, "protect") == "10.40" and shown(line, "average") == "10.40" and "未成交" in line
    position = page[page.index('data-testid="position-600000"') :]
    assert [shown(position, k) for k in ("total", "available", "frozen")] == ["300", "200", "100"]

    assert post_form(client, HOME, f"{HOME}/orders/{order['id']}/cancel").status_code == 303
    page = client.get(HOME).text
    # 2,080.00 sold: commission 5.00, stamp duty 1.04, transfer fee 0.02 → 100.00 + 2,073.94
    assert money(shown(page, "cash")) == ledger(engine, brokerage.cash_account(seller)) == "2173.94"
    assert money(shown(page, "frozen-cash")) == ledger(engine, brokerage.frozen_cash_account(seller)) == "0.00"
    position = page[page.index('data-testid="position-600000"') :]
    assert [shown(position, k) for k in ("total", "available", "frozen")] == ["300", "300", "0"]

    log_in_as(client, 63)  # shares bought today are not sellable at market either (T+1)
    before = counts(engine)
    refused = market(client, side="sell", quantity="200")
    assert refused.status_code == 409 and said(refused.text) == ZH(app_securities.REFUSALS["shares_not_sellable"])
    assert counts(engine) == before and own_orders(engine, buyer)[0]["status"] == "filled"
    audit_clean(engine)


def test_market_order_refusals_say_what_a_market_order_needs_and_change_nothing(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    holder = open_brokerage(client, engine, 65, "1100.00")
    transaction(engine, lambda uow: orders.deposit_shares(uow, holder, "600000", 1000, "market-refusals"))
    transaction(engine, lambda uow: orders.deposit_shares(uow, holder, "688981", 150, "market-refusals-star"))
    before = counts(engine)
    for fields, status, message in (
        # 100 × 11.55 (limit up) + 5.00 + 0.01 = 1,160.01 held: 1,100.00 does not cover it, though 10.50 would
        ({"quantity": "100"}, 409, app_securities.MARKET_REFUSALS["insufficient_cash"]),
        ({"quantity": "150"}, 422, app_securities.REFUSALS["lot_size_invalid"]),
        ({"quantity": "2000000"}, 422, app_securities.REFUSALS["order_too_large"]),
        ({"quantity": "100", "protect": "12.00"}, 422, app_securities.PROTECT_REFUSALS["price_outside_band"]),
        ({"quantity": "100", "protect": "ten"}, 422, app_securities.PROTECT_REFUSALS["price_invalid"]),
        ({"quantity": "100", "protect": "0"}, 422, app_securities.PROTECT_REFUSALS["price_not_positive"]),
        ({"quantity": "100", "protect": "10.505"}, 422, app_securities.REFUSALS["price_off_tick"]),
        ({"quantity": "", "protect": "10.50"}, 422, app_securities.REFUSALS["quantity_required"]),
        ({"side": "sell", "quantity": "1100"}, 409, app_securities.REFUSALS["shares_not_sellable"]),
        ({"side": "sell", "quantity": "100", "code": "688981"}, 422, app_securities.STAR_LOT),
        ({"type": "fok", "quantity": "100"}, 422, app_securities.KIND_NOT_ON_EXCHANGE),
        ({"type": "limit", "quantity": "100", "price": "10.50"}, 422, app_securities.KIND_UNKNOWN),
    ):
        refused = market(client, **fields)
        expected = ZH(message, exchange="上交所") if "%(exchange)s" in message else ZH(message)
        assert (refused.status_code, said(refused.text)) == (status, expected), fields
        assert re.search(r"[\u4e00-\u9fff]", expected) and expected != message, fields
    assert counts(engine) == before
    assert said(market(client, type="ioc", quantity="100").text) == "上交所不接受这种市价委托,请选择其他类型。"

    client.cookies.set(i18n.COOKIE, "en")
    english = market(client, quantity="100")
    assert html.unescape(said(english.text)) == app_securities.MARKET_REFUSALS["insufficient_cash"]
    english = market(client, type="ioc", quantity="100")
    assert said(english.text) == "SSE does not take this kind of market order: choose another kind."

    clock.set(THURSDAY + dt.timedelta(days=1, minutes=-40))  # Friday 09:20, the opening auction
    log_in_as(client, 65)
    client.cookies.set(i18n.COOKIE, "zh_CN")
    late = market(client, side="sell", quantity="100")
    assert late.status_code == 409 and said(late.text) == ZH(app_securities.MARKET_REFUSALS["market_closed"])
    assert counts(engine) == before
    limit(client, "sell", "100", "10.50")  # the auction takes a limit order, not a market one
    audit_clean(engine)


def test_a_share_without_a_price_limit_is_bought_at_market_only_with_a_protective_price(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    buyer = open_brokerage(client, engine, 66, "5000.00")
    operator = staff_token(client, "operator", "operator.market")
    new = {"code": "605999", "exchange": "SSE", "board": "main", "name": "新股", "listed_on": "2026-12-01"}
    listed = client.post(
        "/v1/securities/instruments",
        headers={"Authorization": f"Bearer {operator}", "Idempotency-Key": "list-605999"},
        json={**new, "previous_close": "20.00"},
    )
    assert listed.status_code == 201, listed.text
    quote = client.get(f"{HOME}/quote/605999").text  # the third day of a registration-era listing: no limit
    assert shown(quote, "limit-up") == "—" and "无涨跌幅限制" in shown(quote, "market-hold")

    before = counts(engine)
    refused = market(client, code="605999", quantity="100")
    assert refused.status_code == 422
    assert (
        said(refused.text)
        == ZH(app_securities.REFUSALS["market_order_unbounded"])
        == "该股票今日无涨跌幅限制:市价买入请填写保护限价。"
    )
    assert counts(engine) == before

    assert market(client, code="605999", quantity="100", protect="21.00").status_code == 303
    order = own_orders(engine, buyer)[0]
    # nobody sells: the whole order is cancelled and the 2,100.00 + 5.00 + 0.02 it held comes back
    assert (order["status"], order["filled"], order["cancelled"], order["protect"]) == ("cancelled", 0, 100, "21.00")
    page = client.get(HOME).text
    line = order_line(page, order["id"])
    assert shown(line, "protect") == "21.00" and 'data-testid="average"' not in line and "None" not in line
    assert money(shown(page, "cash")) == ledger(engine, brokerage.cash_account(buyer)) == "5000.00"
    audit_clean(engine)
