"""The brokerage pages under /app/securities: account, 银证转账, quotes, orders, positions and statements (交割单).

Every figure comes from the brokerage API as the signed-in customer, so a customer sees only their own
account and orders. A refused order or transfer shows the refusal's reason in the page's language.

Besides the limit order the page takes a market order (市价委托): the kinds the share's exchange takes
(`MARKET_KINDS`), a quantity and an optional protective price (保护限价); the API books it as any order."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from puhui import clock
from puhui.console import client, render, security, svg
from puhui.console.render import NOTICE_COOKIE
from puhui.console.web import customer_page, read_form, redirect

router = APIRouter(include_in_schema=False)

Code = Annotated[str, Path(pattern=r"^[0-9]{6}$")]
OrderId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
Day = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
REFUSALS = {  # the brokerage's refusals, told plainly (translated in securities.po)
    "insufficient_cash": "Your brokerage cash does not cover this.",
    "insufficient_funds": "Your wallet does not hold this amount.",
    "price_outside_band": "The price is outside today's price limits.",
    "price_off_tick": "Prices go in steps of 0.01 CNY (0.001 for ETFs).",
    "lot_size_invalid": "Buy in lots of 100 shares; an odd lot is sold whole.",
    "shares_not_sellable": "Not enough shares to sell today: shares bought today sell from the next trading day.",
    # what is wrong with the order form's price and quantity, told as what to enter
    "price_required": "Enter a limit price, such as 10.50.",
    "price_invalid": "Enter the limit price as a number of CNY, such as 10.50.",
    "price_not_positive": "Enter a limit price above zero, such as 10.50.",
    "price_not_allowed": "A market order takes no limit price: leave the price empty.",
    "protect_not_allowed": "Only a market order takes a protective price: leave it empty for a limit order.",
    "quantity_required": "Enter how many shares, such as 100.",
    "quantity_invalid": "Enter the number of shares as a whole number, such as 100.",
    "quantity_not_positive": "Enter at least one share: buy in lots of 100.",
    "market_closed": "The market does not take orders now.",
    "board_not_permitted": "Your account may not buy on this board.",
    "order_not_cancellable": "This order cannot be cancelled now.",
    "unknown_instrument": "No such share is listed.",
    "suitability_assessment_required": "Take the risk questionnaire first: a brokerage account and buying need a "
    "current one.",
    "unsuitable_product": "This security's risk level is above yours: the purchase is refused.",
    "order_too_large": "That is more shares than one order may hold on this board: split it into smaller orders.",
    "market_order_unbounded": "This share has no price limit today: enter a protective price to buy it at market.",
    "order_type_not_on_exchange": "This share's exchange does not take this kind of market order: choose another kind.",
    "cash_not_withdrawable": "Today's sale proceeds can buy at once but go back to your wallet only from the next "
    "trading day: transfer at most the withdrawable cash.",
}
MARKET_REFUSALS = {  # where a market order's refusal says more than a limit order's
    "market_closed": "Market orders are taken in continuous trading only: 09:30–11:30 and 13:00–14:57.",
    "insufficient_cash": "Your brokerage cash does not cover this: a market buy holds the day's limit-up price "
    "(or your protective price) for each share, plus fees, until it ends.",
}
PROTECT_REFUSALS = {  # what is wrong with a market order's protective price (the problem's field `protect`)
    "price_invalid": "Enter the protective price as a number of CNY, such as 10.50, or leave it empty.",
    "price_not_positive": "Enter a protective price above zero, or leave it empty.",
    "price_outside_band": "The protective price is outside today's price limits.",
    "protect_not_on_exchange": "The Shenzhen Stock Exchange takes no protective price: leave it empty.",
}
STAR_LOT = "On the STAR Market buy at least 200 shares, then any number; a holding under 200 is sold whole."
MARKET_KINDS = {  # the market orders (市价申报) each exchange takes (上交所/深交所交易规则, 2023 editions)
    "best5_ioc": ("SSE", "SZSE"),
    "counterparty_best": ("SSE", "SZSE"),
    "own_best": ("SSE", "SZSE"),
    "best5_limit": ("SSE",),
    "ioc": ("SZSE",),
    "fok": ("SZSE",),
}
KIND_UNKNOWN = "Choose a kind of market order from the list."
KIND_NOT_ON_EXCHANGE = "%(exchange)s does not take this kind of market order: choose another kind."
NOTICES = {
    "securities_opened": "Your brokerage account is open.",
    "securities_transferred": "The transfer is done.",
    "securities_ordered": "Your order is placed.",
    "securities_cancelled": "Your order is cancelled.",
}


async def _get(request: Request, path: str, **params: object) -> Any:
    return await client.call(request, "GET", path, token=request.state.viewer.token, params=params or None)


async def _post(request: Request, path: str, body: dict[str, Any] | None, key: str | None) -> Any:
    return await client.call(request, "POST", path, token=request.state.viewer.token, json=body, key=key or None)


def _refusal(request: Request, problem: client.ApiProblem, market: bool = False, board: str | None = None) -> str:
    """The refusal in the page's language: a market order's and a protective price's own words first, then
    the STAR Market's lot rule on a STAR share, then the brokerage's refusals, then the console's problems."""
    protect = problem.extra.get("field") == "protect"
    message = (
        (PROTECT_REFUSALS.get(problem.code) if protect else None)
        or (MARKET_REFUSALS.get(problem.code) if market else None)
        or (STAR_LOT if problem.code == "lot_size_invalid" and board == "star" else None)
        or REFUSALS.get(problem.code)
    )
    return render.formatter(request).gettext(message) if message else render.say(request, problem.code, problem.detail)


def _today() -> str:
    return clock.now().astimezone(clock.CHINA).date().isoformat()


def with_average(order: dict[str, Any], places: int) -> dict[str, Any]:
    """An order with its average fill price (成交均价: value over shares filled, half-up to the tick; None
    before a fill), the one price a market order has."""
    average = None
    if order["filled"]:
        tick = Decimal(1).scaleb(-places)
        average = str((Decimal(order["value"]) / order["filled"]).quantize(tick, ROUND_HALF_UP))
    return {**order, "average": average}


def _places(instruments: list[dict[str, Any]]) -> dict[str, int]:
    """Each share's price places: three (厘) for an ETF, two for the others."""
    return {i["code"]: 3 if i["board"] == "etf" else 2 for i in instruments}


def with_pnl(position: dict[str, Any], quote: dict[str, Any]) -> dict[str, Any]:
    """A position with its market value at the last price (else the previous close) and its P&L (浮动盈亏)."""
    shown = quote["last_price"] or quote["previous_close"]  # two places, an ETF's three
    value = (Decimal(shown) * position["total"]).quantize(Decimal("0.01"), ROUND_HALF_UP)  # as trade values round
    return {
        **position,
        "price": shown,
        "value": f"{value:.2f}",
        "pnl": f"{value - Decimal(position['cost_basis']):.2f}",
    }


async def _home(request: Request, status: int = 200, error: str | None = None) -> Response:
    try:
        account = await _get(request, "/v1/securities/account")
    except client.ApiProblem as problem:
        if problem.code != "securities_account_not_found":
            raise
        return render.page(request, "securities_open.html", status=status, error=error, key=security.form_key())
    positions = [with_pnl(p, await _get(request, f"/v1/securities/quotes/{p['code']}")) for p in account["positions"]]
    instruments = (await _get(request, "/v1/securities/instruments"))["instruments"]
    places = _places(instruments)
    orders = (await _get(request, "/v1/securities/orders", limit=20))["orders"]
    return render.page(
        request,
        "securities_home.html",
        status=status,
        error=error,
        notice=NOTICES.get(request.cookies.get(NOTICE_COOKIE, "")),
        account=account,
        positions=positions,
        orders=[with_average(o, places.get(o["code"], 2)) for o in orders],
        instruments=instruments,
        market_kinds=MARKET_KINDS,
        wallet=await _get(request, "/v1/wallets/me"),
        received=(await _get(request, "/v1/securities/distributions"))["distributions"],
        today=_today(),
        keys={
            "transfer": security.form_key(),
            "order": security.form_key(),
            "market": security.form_key(),
            "cancel": security.form_key(),
        },
    )


@router.get("/app/securities")
@customer_page
async def home(request: Request) -> Response:
    return await _home(request)


async def _act(
    request: Request,
    path: str,
    body: dict[str, Any] | None,
    key: str | None,
    notice: str,
    market: bool = False,
) -> Response:
    try:
        await _post(request, path, body, key)
    except client.ApiProblem as problem:
        board = await _board(request, body.get("code", "")) if problem.code == "lot_size_invalid" and body else None
        return await _home(request, problem.status, _refusal(request, problem, market, board))
    return redirect("/app/securities", notice)


async def _instrument(request: Request, code: str) -> dict[str, Any] | None:
    listed = (await _get(request, "/v1/securities/instruments"))["instruments"]
    return next((i for i in listed if i["code"] == code), None)


async def _board(request: Request, code: str) -> str | None:
    found = await _instrument(request, code)
    return found["board"] if found else None


@router.post("/app/securities/open")
@customer_page
async def open_account(request: Request) -> Response:
    form = await read_form(request)
    return await _act(request, "/v1/securities/accounts", {}, form.get("key"), "securities_opened")


@router.post("/app/securities/transfer")
@customer_page
async def transfer(request: Request) -> Response:
    form = await read_form(request)
    body = {"direction": "out" if form.get("direction") == "out" else "in", "amount": form.get("amount", "")}
    return await _act(request, "/v1/securities/transfers", body, form.get("key"), "securities_transferred")


def _quantity(typed: str) -> int | str | None:
    """The form's quantity as the API takes it: a whole number; nothing typed is left out (the API's
    `quantity_required`), and anything else is sent as typed for the API to name (`quantity_invalid`)."""
    typed = typed.strip()
    try:
        return int(typed)
    except ValueError:
        return typed[:40] or None


@router.post("/app/securities/order")
@customer_page
async def place_order(request: Request) -> Response:
    form = await read_form(request)
    body = {
        "code": form.get("code", ""),
        "side": "sell" if form.get("side") == "sell" else "buy",
        "quantity": _quantity(form.get("quantity", "")),
        "price": form.get("price", "").strip(),
    }
    return await _act(request, "/v1/securities/orders", body, form.get("key"), "securities_ordered")


@router.post("/app/securities/market-order")
@customer_page
async def place_market_order(request: Request) -> Response:
    """A market order (市价委托) of a kind the share's exchange takes, by quantity, with an optional
    protective price; a kind not on the list, or not the share's exchange's, is refused before the API."""
    form = await read_form(request)
    code, kind = form.get("code", ""), form.get("type", "")
    fmt = render.formatter(request)
    if kind not in MARKET_KINDS:
        return await _home(request, 422, fmt.gettext(KIND_UNKNOWN))
    instrument = await _instrument(request, code)
    if instrument is not None and instrument["exchange"] not in MARKET_KINDS[kind]:
        exchange = fmt.gettext("exchange:" + instrument["exchange"])
        return await _home(request, 422, fmt.gettext(KIND_NOT_ON_EXCHANGE, exchange=exchange))
    body: dict[str, Any] = {
        "code": code,
        "side": "sell" if form.get("side") == "sell" else "buy",
        "type": kind,
        "quantity": _quantity(form.get("quantity", "")),
    }
    if protect := form.get("protect", "").strip():
        body["protect"] = protect[:40]
    return await _act(request, "/v1/securities/orders", body, form.get("key"), "securities_ordered", market=True)


@router.post("/app/securities/orders/{order_id}/cancel")
@customer_page
async def cancel_order(request: Request, order_id: OrderId) -> Response:
    form = await read_form(request)
    return await _act(
        request, f"/v1/securities/orders/{order_id}/cancel", None, form.get("key"), "securities_cancelled"
    )


@router.get("/app/securities/quote/{code}")
@customer_page
async def quote(request: Request, code: Code) -> Response:
    fmt = render.formatter(request)
    shown = await _get(request, f"/v1/securities/quotes/{code}")
    bars = (await _get(request, f"/v1/securities/bars/{code}", date=_today(), minutes=30))["bars"]
    chart = svg.bar_chart([svg.Bar(b["start"][11:16], Decimal(b["close"])) for b in bars], fmt.gettext("Price"))
    return render.page(request, "securities_quote.html", quote=shown, chart=chart, bars=len(bars))


@router.get("/app/securities/statement/{day}")
@customer_page
async def statement(request: Request, day: Day) -> Response:
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        return render.error_page(request, 404)
    shown = await _get(request, f"/v1/securities/statements/{day}")
    return render.page(request, "securities_statement.html", statement=shown)
