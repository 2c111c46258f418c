"""The robo-advice page under /app/securities/robo (智能投顾): before subscribing, the target ETF portfolio
the advisor chose for the customer's level and the least amount that buys it; after, the holdings with
their weights, targets and drift, a rebalance when a weight drifted past the threshold, and the
performance net of fees. Every figure comes from the robo-advice API as the signed-in customer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from puhui.console import charts, client, render, security
from puhui.console.app_securities import REFUSALS
from puhui.console.render import NOTICE_COOKIE
from puhui.console.web import customer_page, read_form, redirect

router = APIRouter(include_in_schema=False)
PAGE = "/app/securities/robo"
ROBO_REFUSALS = {
    **REFUSALS,
    "robo_amount_below_minimum": "The amount does not buy one lot of every ETF of the portfolio.",
    "robo_risk_level_mismatch": "Take the risk questionnaire first: the portfolio follows your risk level.",
    "robo_already_subscribed": "You are subscribed already.",
    "securities_account_not_found": "Open a brokerage account first.",
}
NOTICES = {"robo_subscribed": "Your portfolio is bought.", "robo_rebalanced": "Your portfolio is rebalanced."}


async def _get(request: Request, path: str) -> Any:
    return await client.call(request, "GET", path, token=request.state.viewer.token)


def _refusal(request: Request, problem: client.ApiProblem) -> str:
    message = ROBO_REFUSALS.get(problem.code)
    return render.formatter(request).gettext(message) if message else render.say(request, problem.code, problem.detail)


async def _names(request: Request) -> dict[str, str]:
    listed = (await _get(request, "/v1/securities/instruments"))["instruments"]
    return {i["code"]: i["name"] for i in listed}


async def _page(request: Request, status: int = 200, error: str | None = None) -> Response:
    values: dict[str, Any] = {"status": status, "error": error, "names": await _names(request)}
    try:
        portfolio = await _get(request, "/v1/securities/robo")
    except client.ApiProblem as problem:
        if problem.code != "robo_not_subscribed":
            raise
        portfolio = None
    if portfolio is None:
        try:
            values["proposal"] = await _get(request, "/v1/securities/robo/proposal")
        except client.ApiProblem as problem:
            values["refusal"] = _refusal(request, problem)
        values["account"] = await _optional(request, "/v1/securities/account")
    else:
        report = await _get(request, "/v1/securities/robo/report")
        fmt = render.formatter(request)
        points = [charts.Point(d["day"][5:], Decimal(d["value"])) for d in report["days"]]
        chart = charts.line_chart(points, fmt.gettext("Portfolio value at each close"), unit="")
        values |= {"portfolio": portfolio, "report": report, "chart": chart}
    notice = NOTICES.get(request.cookies.get(NOTICE_COOKIE, ""))
    return render.page(request, "securities_robo.html", notice=notice, key=security.form_key(), **values)


async def _optional(request: Request, path: str) -> Any:
    try:
        return await _get(request, path)
    except client.ApiProblem as problem:
        if problem.status != 404:
            raise
        return None


@router.get(PAGE)
@customer_page
async def page(request: Request) -> Response:
    return await _page(request)


async def _act(request: Request, path: str, body: dict[str, Any], notice: str) -> Response:
    form = await read_form(request)
    body = {k: form.get(k, "") for k in body} if body else {}
    try:
        await client.call(
            request, "POST", path, token=request.state.viewer.token, json=body, key=form.get("key") or None
        )
    except client.ApiProblem as problem:
        return await _page(request, problem.status, _refusal(request, problem))
    return redirect(PAGE, notice)


@router.post(f"{PAGE}/subscribe")
@customer_page
async def subscribe(request: Request) -> Response:
    return await _act(request, "/v1/securities/robo/subscriptions", {"amount": ""}, "robo_subscribed")


@router.post(f"{PAGE}/rebalance")
@customer_page
async def rebalance(request: Request) -> Response:
    return await _act(request, "/v1/securities/robo/rebalance", {}, "robo_rebalanced")
