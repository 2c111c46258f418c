"""The customer's credit line (信用额度, 花呗/借呗-style), buy-now-pay-later at checkout (先享后付 / 分期)
with every plan's annualised rate and schedule disclosed before the customer chooses (息费披露), the
loans with their schedule (还款计划), the loan offers (借款方案) with their status, and repayment (还款)
from the wallet. Every change is an API call."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from puhui.console import app_wallet, client, render, security
from puhui.console.web import customer_page, read_form, redirect

router = APIRouter(include_in_schema=False)

AmountQuery = Annotated[str | None, Query(max_length=15, pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
NOTICES = {
    "paid_later": "Paid from your credit line.",
    "repaid": "Repayment received.",
    "offer_accepted": "Offer accepted: the loan is paid into your wallet.",
}
PROBLEMS = {
    "credit_line_not_found": "You have no credit line yet.",
    "line_limit_exceeded": "This is more than your credit line has available.",
    "credit_line_frozen": "Your credit line is frozen.",
    "credit_line_expired": "Your credit line has expired.",
    "credit_line_overdue": "Repay what is past due before using your credit line again.",
    "repayment_exceeds_owed": "That is more than you owe.",
    "nothing_due": "Nothing is due on this loan yet: choose to repay in full.",
    "loan_closed": "This loan is paid off.",
    "checkout_needs_review": "Risk control would hold this payment for a review, so it cannot be paid later; nothing "
    "was charged. Pay from the wallet instead: the money is held while a risk officer reviews the payment.",
    "checkout_needs_review:challenge": "Risk control wants to confirm this payment first, so it cannot be paid "
    "later; nothing was charged. Pay from the wallet instead and confirm the payment there.",
    "unknown_instalment_plan": "Choose one of the plans shown.",
    "loan_application_used": "This application has already become a loan: apply again for another loan.",
    "loan_offer_not_open": "This offer was already accepted: it became a loan, which is listed under your loans.",
    "annual_income_required": "Declare your annual income first: what you owe may not pass a third of it.",
    "borrower_limit_exceeded": "This would take what you owe past a third of your annual income.",
    "payoff_amount_mismatch": "The payoff amount has changed since this page was shown (interest accrues daily): "
    "nothing was charged. Check the amount now shown and confirm again.",
    "loan_offer_not_found": "This offer does not exist or is not yours.",
    "loan_application_declined": "This application was declined, so its offer cannot be accepted.",
    "borrower_unverified": "Verify your identity before borrowing.",
    "rate_above_cap": "This offer's rate is above the legal cap, so it can no longer be accepted.",
}
"""Lending problems a person is told in their own language (any other goes to the common list)."""


def _say(request: Request, problem: client.ApiProblem) -> str:
    if problem.code == "limit_exceeded":  # a QR day limit: said as the wallet's pay page says it
        return app_wallet.pay_refusal(request, problem)
    held_for = problem.extra.get("held_for") if problem.code == "checkout_needs_review" else None
    message = PROBLEMS.get(f"{problem.code}:{held_for}") or PROBLEMS.get(problem.code)
    if problem.code == "unknown_instalment_plan" and (offered := _plans_offered(request, problem.extra.get("plans"))):
        return render.formatter(request).gettext("Choose one of the plans offered: %(plans)s.", plans=offered)
    return render.formatter(request).gettext(message) if message else render.say(request, problem.code, problem.detail)


def _plans_offered(request: Request, plans: object) -> str:
    """The plans an `unknown_instalment_plan` refusal lists (`plans`: each plan's name and periods), named
    as the checkout names them; empty when the problem lists none the page can name."""
    _ = render.formatter(request).gettext
    named: list[str] = []
    for offered in plans if isinstance(plans, list) else []:
        if not isinstance(offered, dict):
            continue
        periods = [p for p in offered.get("periods") or [] if isinstance(p, int)]
        if offered.get("plan") == "pay_later":
            named.append(_("Pay on the repayment day, interest-free"))
        elif offered.get("plan") == "instalments":
            named += [_("%(n)s monthly instalments", n=n) for n in periods]
    return " / ".join(named)


def _page(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    notice = NOTICES.get(request.cookies.get(render.NOTICE_COOKIE, ""))
    extra = {"notice": notice} if notice else {}
    return render.page(request, template, status=status, **values, **extra)


async def _get(request: Request, path: str, **params: object) -> Any:
    return await client.call(request, "GET", path, token=request.state.viewer.token, params=params or None)


async def _post(request: Request, path: str, body: dict, key: str | None) -> Any:
    return await client.call(request, "POST", path, token=request.state.viewer.token, json=body, key=key or None)


async def _my_line(request: Request) -> dict | None:
    try:
        return await _get(request, "/v1/lending/lines/me")
    except client.ApiProblem as problem:
        if problem.code == "credit_line_not_found":
            return None
        raise


# -- the line ------------------------------------------------------------------------------------


@router.get("/app/credit")
@customer_page
async def credit(request: Request) -> Response:
    line = await _my_line(request)
    draws = await _get(request, f"/v1/lending/lines/{line['id']}/draws") if line else []
    return _page(request, "credit.html", line=line, draws=draws)


# -- pay later at checkout -----------------------------------------------------------------------


async def _checkout_page(
    request: Request, qr_id: str, amount: str | None, status: int = 200, error: str | None = None
) -> Response:
    qr = await _get(request, f"/v1/qr-codes/{qr_id}")
    line = await _my_line(request)
    amount = qr.get("amount") or amount
    plans = await _get(request, "/v1/lending/plans", amount=amount) if line and amount else []
    return _page(
        request,
        "credit_checkout.html",
        status=status,
        error=error,
        qr=qr,
        line=line,
        amount=amount,
        plans=plans,
        key=security.form_key(),
    )


@router.get("/app/pay/{qr_id}/later")
@customer_page
async def checkout_page(request: Request, qr_id: Ident, amount: AmountQuery = None) -> Response:
    return await _checkout_page(request, qr_id, amount)


@router.post("/app/pay/{qr_id}/later")
@customer_page
async def checkout(request: Request, qr_id: Ident) -> Response:
    form = await read_form(request)
    plan, _, periods = form.get("plan", "").partition(":")
    body: dict = {"plan": plan, "verification": "one_factor"}
    if periods.isdigit():
        body["periods"] = int(periods)
    if form.get("amount"):
        body["amount"] = form["amount"]
    if form.get("password"):
        body.update(verification="two_factors", password=form["password"])
    try:
        done = await _post(request, f"/v1/lending/checkout/{qr_id}", body, form.get("key"))
    except client.ApiProblem as problem:
        return await _checkout_page(request, qr_id, form.get("amount"), problem.status, _say(request, problem))
    return redirect(f"/app/loans/{done['loan']['id']}", "paid_later")


# -- loans and repayment -------------------------------------------------------------------------


async def _product_names(request: Request) -> dict[str, str]:
    """Each loan product's name by its code (a loan carries only the code: `line-instalments`…), in the
    viewer's language when the catalogue names it (`product:<code>`: the built-in line products), else the API's."""
    fmt = render.formatter(request)
    named = {p["code"]: p["name"] for p in await _get(request, "/v1/lending/products")}
    return {
        code: (shown if (shown := fmt.gettext(f"product:{code}")) != f"product:{code}" else name)
        for code, name in named.items()
    }


@router.get("/app/loans")
@customer_page
async def loans(request: Request) -> Response:
    """The customer's loans, then their loan offers (借款方案) with each one's status and what can follow:
    an accepted offer leads to its loan, a superseded one to the loan its application became."""
    return await _loans_page(request)


async def _loans_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    listed = await _get(request, "/v1/lending/loans")
    offers = await _get(request, "/v1/lending/offers")
    became = {offer["application_id"]: offer["loan_id"] for offer in offers if offer["loan_id"]}
    products = await _product_names(request) if listed or offers else {}
    return _page(
        request,
        "loans.html",
        status=status,
        error=error,
        loans=listed,
        offers=offers,
        became=became,
        products=products,
        key=security.form_key(),
    )


@router.post("/app/loans/offers/{offer_id}/accept")
@customer_page
async def accept_offer(request: Request, offer_id: Ident) -> Response:
    """Accept an open offer (签约): the loan is paid into the wallet and its page follows; a refusal is said on
    the loans page in the customer's language, and nothing changes."""
    form = await read_form(request)
    try:
        loan = await _post(request, f"/v1/lending/offers/{offer_id}/accept", {}, form.get("key"))
    except client.ApiProblem as problem:
        return await _loans_page(request, problem.status, _say(request, problem))
    return redirect(f"/app/loans/{loan['id']}", "offer_accepted")


async def _loan_page(request: Request, loan_id: str, status: int = 200, error: str | None = None) -> Response:
    loan = await _get(request, f"/v1/lending/loans/{loan_id}")
    schedule = await _get(request, f"/v1/lending/loans/{loan_id}/schedule")
    statement = await _get(request, f"/v1/lending/loans/{loan_id}/statement")
    wallet = await _get(request, "/v1/wallets/me")
    for row in schedule:
        row["paid"] = str(sum(Decimal(row[part]) for part in ("principal_paid", "interest_paid", "fee_paid")))
    line = await _my_line(request)
    draws = await _get(request, f"/v1/lending/lines/{line['id']}/draws") if line else []
    draw = next((d for d in draws if d["loan_id"] == loan_id), None)
    charges = sum(Decimal(statement[part]) for part in ("accrued_interest", "fees", "penalties"))
    product = (await _product_names(request)).get(loan["product_code"])
    payoff = await _get(request, f"/v1/lending/loans/{loan_id}/payoff") if loan["status"] == "active" else None
    return _page(
        request,
        "loan.html",
        product=product,
        payoff=payoff,
        charges=str(charges),
        draw=draw,
        status=status,
        error=error,
        loan=loan,
        schedule=schedule,
        statement=statement,
        wallet=wallet,
        key=security.form_key(),
    )


@router.get("/app/loans/{loan_id}")
@customer_page
async def loan(request: Request, loan_id: Ident) -> Response:
    return await _loan_page(request, loan_id)


@router.post("/app/loans/{loan_id}/repay")
@customer_page
async def repay(request: Request, loan_id: Ident) -> Response:
    form = await read_form(request)
    kind = "early_full" if form.get("kind") == "early_full" else "scheduled"
    body: dict = {"kind": kind}
    if kind == "scheduled" and form.get("amount"):
        body["amount"] = form["amount"]
    if kind == "early_full" and form.get("payoff"):  # exactly the payoff shown, or refused if it has changed
        body["amount"] = form["payoff"]
    try:
        await _post(request, f"/v1/lending/loans/{loan_id}/repayments", body, form.get("key"))
    except client.ApiProblem as problem:
        return await _loan_page(request, loan_id, problem.status, _say(request, problem))
    return redirect(f"/app/loans/{loan_id}", "repaid")
