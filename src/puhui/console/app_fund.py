"""The money-market fund (余额宝-style 货币基金) for the customer: holding, yesterday's income (昨日收益),
万份收益, the 7-day annualised yield (七日年化) as a chart drawn on the server, subscribe (申购) from the
wallet and redeem (赎回) fast (T+0, to the wallet at once) or normal (T+1)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from markupsafe import Markup

from puhui.console import charts, client, render, security
from puhui.console.web import customer_page, read_form, redirect

router = APIRouter(include_in_schema=False)

FundCode = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$")]
CHART_DAYS = 30


async def _get(request: Request, path: str, **params: object) -> Any:
    return await client.call(request, "GET", path, token=request.state.viewer.token, params=params or None)


def yield_chart(yields: list[dict], title: str) -> Markup:
    points = [
        charts.Point(y["date"][5:], Decimal(y["seven_day_yield"]))
        for y in reversed(yields)
        if y.get("seven_day_yield") is not None
    ]
    return charts.line_chart(points, title)


async def _fund_page(request: Request, code: str, status: int = 200, error: str | None = None) -> Response:
    fmt = render.formatter(request)
    fund = await _get(request, f"/v1/wealth/funds/{code}")
    yields = await _get(request, f"/v1/wealth/funds/{code}/yields", limit=CHART_DAYS)
    holding = next((h for h in await _get(request, "/v1/wealth/holdings") if h["fund_code"] == code), None)
    orders = [o for o in await _get(request, "/v1/wealth/orders") if o["fund_code"] == code][:10]
    wallet = await _get(request, "/v1/wallets/me")
    return render.page(
        request,
        "fund.html",
        status=status,
        error=error,
        fund=fund,
        holding=holding,
        orders=orders,
        wallet=wallet,
        chart=yield_chart(yields, fmt.gettext("7-day annualised yield")),
        keys={"subscribe": security.form_key(), "redeem": security.form_key()},
    )


@router.get("/app/fund")
@customer_page
async def funds(request: Request) -> Response:
    listed = await _get(request, "/v1/wealth/funds")
    if not listed:
        return render.error_page(request, 404, render.formatter(request).gettext("No fund is on offer yet."))
    return redirect(f"/app/fund/{listed[0]['code']}")


@router.get("/app/fund/{code}")
@customer_page
async def fund(request: Request, code: FundCode) -> Response:
    return await _fund_page(request, code)


@router.post("/app/fund/{code}/subscribe")
@customer_page
async def subscribe(request: Request, code: FundCode) -> Response:
    form = await read_form(request)
    try:
        await client.call(
            request,
            "POST",
            f"/v1/wealth/funds/{code}/subscriptions",
            token=request.state.viewer.token,
            json={"amount": form.get("amount", "")},
            key=form.get("key") or None,
        )
    except client.ApiProblem as problem:
        return await _fund_page(request, code, problem.status, render.say(request, problem.code, problem.detail))
    return redirect(f"/app/fund/{code}", "subscribed")


@router.post("/app/fund/{code}/redeem")
@customer_page
async def redeem(request: Request, code: FundCode) -> Response:
    form = await read_form(request)
    body = {"units": form.get("units", ""), "fast": form.get("speed") == "fast"}
    try:
        await client.call(
            request,
            "POST",
            f"/v1/wealth/funds/{code}/redemptions",
            token=request.state.viewer.token,
            json=body,
            key=form.get("key") or None,
        )
    except client.ApiProblem as problem:
        return await _fund_page(request, code, problem.status, render.say(request, problem.code, problem.detail))
    return redirect(f"/app/fund/{code}", "redeemed")
