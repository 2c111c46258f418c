"""Paying a merchant's QR code with return-shipping cover (退货运费险) in the customer app: the quoted
premium is shown first (priced from the buyer's and the merchant's return rates), then the goods and the
premium are paid in one API call; the receipt is the payment's. Without a product on offer the page says
so and the plain QR payment remains."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from puhui.console import client, render, security
from puhui.console.app_insurance import Ident, tell
from puhui.console.web import customer_page, read_form, redirect
from puhui.db import reading
from puhui.insurance.returns import listings

router = APIRouter(include_in_schema=False)
COVER_PROBLEMS = {
    "return_cover_refused": "Return-shipping cover cannot be offered on this order.",
    "return_checkout_needs_review": "Risk control holds this order: pay without cover or try later.",
}


async def _offered(request: Request) -> dict[str, Any] | None:
    def read() -> dict[str, Any] | None:
        with reading(request.app.state.engine) as connection:
            return listings.offered_product(connection)

    return await run_in_threadpool(read)


def _say(request: Request, problem: client.ApiProblem) -> str:
    message = COVER_PROBLEMS.get(problem.code)
    return render.formatter(request).gettext(message) if message else tell(request, problem)


async def _checkout_page(request: Request, qr_id: str, status: int = 200, error: str | None = None) -> Response:
    token = request.state.viewer.token
    qr = await client.call(request, "GET", f"/v1/qr-codes/{qr_id}", token=token)
    wallet = await client.call(request, "GET", "/v1/wallets/me", token=token)
    product, quote = await _offered(request), None
    if product is not None and qr["status"] == "active":
        body = {"product_code": product["code"], "product_version": product["version"], "qr_id": qr_id}
        try:
            quote = await client.call(request, "POST", "/v1/insurance/return-shipping/quote", token=token, json=body)
        except client.ApiProblem as problem:
            if problem.status == 401 or problem.status >= 500:
                raise
            status, error = problem.status, _say(request, problem)
    return render.page(
        request,
        "insurance_checkout.html",
        status=status,
        error=error,
        qr=qr,
        wallet=wallet,
        product=product,
        quote=quote,
        key=security.form_key(),
    )


@router.get("/app/insurance/checkout/{qr_id}")
@customer_page
async def checkout_page(request: Request, qr_id: Ident) -> Response:
    return await _checkout_page(request, qr_id)


@router.post("/app/insurance/checkout/{qr_id}")
@customer_page
async def checkout(request: Request, qr_id: Ident) -> Response:
    form = await read_form(request)
    product = await _offered(request)
    if product is None:
        return render.error_page(
            request, 404, render.formatter(request).gettext("No return-shipping cover is offered.")
        )
    body: dict[str, Any] = {
        "qr_id": qr_id,
        "product_code": product["code"],
        "product_version": product["version"],
        "verification": "one_factor",
    }
    if form.get("amount"):
        body["amount"] = form["amount"]
    if form.get("password"):
        body.update(verification="two_factors", password=form["password"])
    token = request.state.viewer.token
    try:
        paid = await client.call(
            request,
            "POST",
            "/v1/insurance/return-shipping/checkout",
            token=token,
            json=body,
            key=form.get("key") or None,
        )
    except client.ApiProblem as problem:
        if problem.status == 401 or problem.status >= 500:
            raise
        return await _checkout_page(request, qr_id, problem.status, _say(request, problem))
    return redirect(f"/app/payments/{paid['payment']['id']}", "paid_with_cover")
