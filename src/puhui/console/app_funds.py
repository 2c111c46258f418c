"""Distributed funds with their risk levels, the suitability questionnaire (风险测评) and fund orders,
under /app/funds.

The pages ask the wealth API and decide nothing: a purchase above the customer's level (C_n may buy
R1…R_n), without a valid questionnaire or from a wallet below Class III is refused by the API (403,
no acknowledgement lifts it), and the page says why before and after the customer tries."""

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
CHART_DAYS = 60
MAX_ORDERS = 20
PROBLEMS = {
    "unsuitable_product": "This fund's risk level is above yours: the purchase is refused.",
    "questionnaire_required": "Take the risk questionnaire before buying a fund (or again: yours has expired).",
    "invalid_answers": "Please answer every question.",
    "fund_closed": "This fund is closed to orders.",
    "fund_not_found": "There is no such fund.",
    "no_eligible_funds": "No fund on offer suits your risk level yet.",
}
"""The wealth API's refusals told in the customer's language (others: `render.say`)."""


async def _get(request: Request, path: str, **params: object) -> Any:
    return await client.call(request, "GET", path, token=request.state.viewer.token, params=params or None)


def _say(request: Request, problem: client.ApiProblem) -> str:
    message = PROBLEMS.get(problem.code)
    return render.formatter(request).gettext(message) if message else render.say(request, problem.code, problem.detail)


def verdict(suitability: dict, risk: str) -> str:
    """What a purchase of a fund of `risk` would get now: `ok`, or the API's refusal code."""
    if suitability["refusal"]:
        return str(suitability["refusal"])
    return "ok" if int(risk[1]) <= int(suitability["max_product_risk"][1]) else "unsuitable_product"


def nav_chart(navs: list[dict], title: str) -> Markup:
    points = [charts.Point(n["date"][5:], Decimal(n["nav"])) for n in reversed(navs)]
    return charts.line_chart(points, title, unit="") if len(points) > 1 else Markup("")


async def _suitability(request: Request) -> dict:
    return await _get(request, f"/v1/wealth/suitability/{request.state.viewer.id}")


@router.get("/app/funds")
@customer_page
async def funds(request: Request) -> Response:
    products = await _get(request, "/v1/wealth/fund-products")
    suitability = await _suitability(request)
    return render.page(
        request,
        "funds_list.html",
        products=[{**p, "verdict": verdict(suitability, p["risk"])} for p in products],
        suitability=suitability,
        holdings=await _get(request, "/v1/wealth/fund-holdings"),
        orders=(await _get(request, "/v1/wealth/fund-orders"))[:MAX_ORDERS],
    )


async def _fund_page(request: Request, code: str, status: int = 200, error: str | None = None) -> Response:
    fmt = render.formatter(request)
    product = await _get(request, f"/v1/wealth/fund-products/{code}")
    navs = await _get(request, f"/v1/wealth/fund-products/{code}/navs", limit=CHART_DAYS)
    suitability = await _suitability(request)
    holding = next((h for h in await _get(request, "/v1/wealth/fund-holdings") if h["fund_code"] == code), None)
    orders = [o for o in await _get(request, "/v1/wealth/fund-orders") if o["fund_code"] == code][:MAX_ORDERS]
    return render.page(
        request,
        "funds_fund.html",
        status=status,
        error=error,
        fund=product,
        verdict=verdict(suitability, product["risk"]),
        suitability=suitability,
        holding=holding,
        orders=orders,
        wallet=await _get(request, "/v1/wallets/me"),
        chart=nav_chart(navs, fmt.gettext("NAV")),
        keys={"buy": security.form_key(), "redeem": security.form_key()},
    )


@router.get("/app/funds/{code}")
@customer_page
async def fund(request: Request, code: FundCode) -> Response:
    return await _fund_page(request, code)


async def _order(request: Request, code: str, action: str, body: dict[str, str], notice: str) -> Response:
    form = await read_form(request)
    try:
        await client.call(
            request,
            "POST",
            f"/v1/wealth/fund-products/{code}/{action}",
            token=request.state.viewer.token,
            json={name: form.get(name, "") for name in body},
            key=form.get("key") or None,
        )
    except client.ApiProblem as problem:
        return await _fund_page(request, code, problem.status, _say(request, problem))
    return redirect(f"/app/funds/{code}", notice)


@router.post("/app/funds/{code}/buy")
@customer_page
async def buy(request: Request, code: FundCode) -> Response:
    return await _order(request, code, "purchases", {"amount": ""}, "subscribed")


@router.post("/app/funds/{code}/redeem")
@customer_page
async def redeem(request: Request, code: FundCode) -> Response:
    return await _order(request, code, "redemptions", {"units": ""}, "redeemed")


def localized(questionnaire: dict, locale: str) -> dict:
    """The questionnaire in the viewer's language (the API carries Chinese `text` and English `text_en`),
    without the questions the platform answers from the customer's resident ID (`from_id`: the age)."""
    english = locale.lower().startswith("en")

    def text(item: dict) -> str:
        return str(item.get("text_en") or item["text"]) if english else str(item["text"])

    questions = [
        {**q, "text": text(q), "choices": [{**c, "text": text(c)} for c in q["choices"]]}
        for q in questionnaire["questions"]
        if not q.get("from_id")
    ]
    return {**questionnaire, "questions": questions}


async def _questionnaire_page(
    request: Request, status: int = 200, error: str | None = None, chosen: dict[str, str] | None = None
) -> Response:
    questionnaire = await _get(request, "/v1/wealth/questionnaire")
    return render.page(
        request,
        "funds_suitability.html",
        status=status,
        error=error,
        questionnaire=localized(questionnaire, render.formatter(request).locale),
        suitability=await _suitability(request),
        chosen=chosen or {},
        key=security.form_key(),
    )


@router.get("/app/suitability")
@customer_page
async def suitability_page(request: Request) -> Response:
    return await _questionnaire_page(request)


@router.post("/app/suitability")
@customer_page
async def answer(request: Request) -> Response:
    form = await read_form(request)
    answers = {name[2:]: value for name, value in form.items() if name.startswith("q_") and value}
    try:
        await client.call(
            request,
            "POST",
            "/v1/wealth/questionnaire/answers",
            token=request.state.viewer.token,
            json={"version": form.get("version", ""), "answers": answers},
            key=form.get("key") or None,
        )
    except client.ApiProblem as problem:
        return await _questionnaire_page(request, problem.status, _say(request, problem), answers)
    return redirect("/app/suitability")


async def _advice_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    """The target portfolio, asked of the API (`POST /v1/wealth/advice`, which computes and stores nothing)
    only when the customer's suitability says it would be given: a customer without a valid questionnaire
    or below Class III is told so from `GET /suitability`, so viewing the page never makes a refused
    (audited) call."""
    target, refusal = None, None
    blocked = (await _suitability(request))["refusal"]
    if blocked:
        refusal = _say(request, client.ApiProblem(403, str(blocked), ""))
    else:
        try:
            target = await client.call(request, "POST", "/v1/wealth/advice", token=request.state.viewer.token, json={})
        except client.ApiProblem as problem:
            if problem.status == 401:
                raise
            refusal = _say(request, problem)
    names = {p["code"]: p["name"] for p in await _get(request, "/v1/wealth/fund-products")}
    weights = sorted((target or {}).get("weights", {}).items(), key=lambda item: -item[1])
    return render.page(
        request,
        "funds_advice.html",
        status=status,
        error=error,
        target=target,
        refusal=refusal,
        names=names,
        weights=[(code, Decimal(str(weight))) for code, weight in weights if weight > 0],
        wallet=await _get(request, "/v1/wallets/me"),
        key=security.form_key(),
    )


@router.get("/app/advice")
@customer_page
async def advice(request: Request) -> Response:
    """The robo-advisor's target portfolio (智能投顾) for the customer's level, computed by the API."""
    return await _advice_page(request)


@router.post("/app/advice/invest")
@customer_page
async def invest(request: Request) -> Response:
    form = await read_form(request)
    try:
        await client.call(
            request,
            "POST",
            "/v1/wealth/advice/invest",
            token=request.state.viewer.token,
            json={"amount": form.get("amount", "")},
            key=form.get("key") or None,
        )
    except client.ApiProblem as problem:
        return await _advice_page(request, problem.status, _say(request, problem))
    return redirect("/app/funds", "subscribed")
