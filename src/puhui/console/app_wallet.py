"""The customer's wallet (钱包): home (balance, class, recent bills), bank cards (绑卡), top-up (充值)
and withdrawal (提现) with their order status, paying a merchant's QR code (扫码付款: the scanned
payload pasted), P2P transfers (转账) and bills (账单) with filters. Every change is an API call."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Engine

from puhui import clock
from puhui.console import bills, client, names, render, security
from puhui.console.web import customer_page, read_form, redirect
from puhui.db import reading
from puhui.identity.queries import active_customer_by_phone
from puhui.identity.vault import Vault
from puhui.payments import limits

router = APIRouter(include_in_schema=False)

Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
QR_PAYLOAD = re.compile(r"\b(qr_[0-9a-f]{8,64})\b")
"""A scanned QR code's payload carries its id (`qr_…`), alone or inside a link."""
BANK_ORDERS = {"top-up": "top-ups", "withdraw": "withdrawals"}
BANK_FAILURES = {
    "insufficient_funds": "The bank card does not have enough money.",
    "card_frozen": "The bank card is frozen. Please contact your bank.",
    "invalid_card": "The bank does not know this card. Check the card or bind another one.",
    "declined": "The bank declined the order. Please try again later.",
    "reserve_insufficient": "The withdrawal could not be paid out just now. Please try again later.",
    "order_refused": "The bank did not accept the order.",
    "missing_at_bank": "The bank has no record of this order, so it was cancelled.",
}
"""A failed top-up's or withdrawal's reason (the bank's `failure_reason` code) in the customer's words."""
BANK_FAILED = "The bank could not complete the order."
"""What a failed order says when its reason is not one of BANK_FAILURES."""


def _me(request: Request) -> security.Viewer:
    return request.state.viewer


async def _get(request: Request, path: str, **params: object) -> Any:
    return await client.call(request, "GET", path, token=_me(request).token, params=params or None)


async def _post(request: Request, path: str, body: dict, key: str | None) -> Any:
    return await client.call(request, "POST", path, token=_me(request).token, json=body, key=key or None)


@router.get("/app")
@customer_page
async def home(request: Request) -> Response:
    me = _me(request)
    wallet = await _get(request, "/v1/wallets/me")
    customer = await _get(request, f"/v1/customers/{me.id}")
    recent = (await _get(request, "/v1/wallets/me/transactions", limit=5))["transactions"]
    return render.page(
        request, "home.html", wallet=wallet, customer=customer, bills=recent, kinds=bills.KINDS, held=bills.HELD
    )


# -- bank cards ---------------------------------------------------------------------------------


async def _cards_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    customer = await _get(request, f"/v1/customers/{_me(request).id}")
    return render.page(
        request, "cards.html", status=status, error=error, cards=customer["cards"], key=security.form_key()
    )


@router.get("/app/cards")
@customer_page
async def cards(request: Request) -> Response:
    return await _cards_page(request)


@router.post("/app/cards")
@customer_page
async def bind_card(request: Request) -> Response:
    form = await read_form(request)
    body = {"card_number": form.get("card_number", "")}
    if form.get("bank"):
        body["bank"] = form["bank"]
    try:
        await _post(request, f"/v1/customers/{_me(request).id}/cards", body, form.get("key"))
    except client.ApiProblem as problem:
        return await _cards_page(request, problem.status, render.say(request, problem.code, problem.detail))
    return redirect("/app/cards", "card_bound")


# -- top-ups and withdrawals through the bank ---------------------------------------------------


async def _orders_page(request: Request, kind: str, status: int = 200, error: str | None = None) -> Response:
    customer = await _get(request, f"/v1/customers/{_me(request).id}")
    listed = await _get(request, f"/v1/wallets/me/{BANK_ORDERS[kind]}")
    wallet = await _get(request, "/v1/wallets/me")
    return render.page(
        request,
        "bank_orders.html",
        status=status,
        error=error,
        kind=kind,
        wallet=wallet,
        cards=[c for c in customer["cards"] if c["status"] == "bound"],
        orders=listed["top_ups" if kind == "top-up" else "withdrawals"],
        key=security.form_key(),
    )


async def _order_made(request: Request, kind: str) -> Response:
    form = await read_form(request)
    body = {"card_id": form.get("card_id", ""), "amount": form.get("amount", "")}
    try:
        order = await _post(request, f"/v1/wallets/me/{BANK_ORDERS[kind]}", body, form.get("key"))
    except client.ApiProblem as problem:
        return await _orders_page(request, kind, problem.status, bank_order_refusal(request, problem))
    return redirect(f"/app/{kind}/{order['id']}")


AMOUNT_WANTED = "Enter an amount greater than zero in CNY, with at most two decimal places, such as 66.00."
"""What a form whose one free field is the amount says of its generic refusals: a top-up's or withdrawal's
`invalid_input` is an amount of zero or less ("amount must be greater than zero"), `invalid_amount` one that
is no amount of CNY; both were told apart, the first as the generic "a value is not valid"."""


def bank_order_refusal(request: Request, problem: client.ApiProblem) -> str:
    """Why a top-up or withdrawal was refused, in the customer's words: its amount named for any refusal of
    the amount (the card is chosen from a list: a card not bound is `not_found`), else as every page says it."""
    _ = render.formatter(request).gettext
    if problem.code in ("invalid_input", "invalid_amount") or _field_refused(problem, "amount"):
        return _(AMOUNT_WANTED)
    said = render.say(request, problem.code, problem.detail, problem.status)
    return f"{said} {_(HOW_TO_VERIFY)}" if problem.code == "wallet_unverified" else said


HOW_TO_VERIFY = "How to verify: see Real-name verification on your Me page."


def _field_refused(problem: client.ApiProblem, name: str) -> bool:
    """Whether the API's validation (`invalid_request`) refused the body's field `name`."""
    errors = problem.extra.get("errors") or () if problem.code == "invalid_request" else ()
    return any(isinstance(e, dict) and str(e.get("location", "")).rsplit(".", 1)[-1] == name for e in errors)


async def _order_status(request: Request, kind: str, order_id: str) -> Response:
    order = await _get(request, f"/v1/wallets/me/{BANK_ORDERS[kind]}/{order_id}")
    return render.page(request, "bank_order.html", kind=kind, order=order, failure=bank_failure(order))


def bank_failure(order: dict) -> str | None:
    """Why a failed order failed, as a message to translate (None while it has not failed)."""
    if order["status"] != "failed" and not order.get("failure_reason"):
        return None
    return BANK_FAILURES.get(order.get("failure_reason") or "", BANK_FAILED)


@router.get("/app/top-up")
@customer_page
async def top_up_page(request: Request) -> Response:
    return await _orders_page(request, "top-up")


@router.post("/app/top-up")
@customer_page
async def top_up(request: Request) -> Response:
    return await _order_made(request, "top-up")


@router.get("/app/top-up/{order_id}")
@customer_page
async def top_up_status(request: Request, order_id: Ident) -> Response:
    return await _order_status(request, "top-up", order_id)


@router.get("/app/withdraw")
@customer_page
async def withdraw_page(request: Request) -> Response:
    return await _orders_page(request, "withdraw")


@router.post("/app/withdraw")
@customer_page
async def withdraw(request: Request) -> Response:
    return await _order_made(request, "withdraw")


@router.get("/app/withdraw/{order_id}")
@customer_page
async def withdraw_status(request: Request, order_id: Ident) -> Response:
    return await _order_status(request, "withdraw", order_id)


# -- paying a merchant's QR code ------------------------------------------------------------------


@router.get("/app/pay")
@customer_page
async def scan(request: Request) -> Response:
    return render.page(request, "scan.html", error=None, payload="")


@router.post("/app/pay")
@customer_page
async def scanned(request: Request) -> Response:
    form = await read_form(request)
    found = QR_PAYLOAD.search(form.get("payload", ""))
    if found is None:
        message = render.formatter(request).gettext("That is not a Puhui QR code.")
        return render.page(request, "scan.html", status=422, error=message, payload=form.get("payload", "")[:200])
    return redirect(f"/app/pay/{found.group(1)}")


async def _confirm_page(request: Request, qr_id: str, status: int = 200, error: str | None = None) -> Response:
    qr = await _get(request, f"/v1/qr-codes/{qr_id}")
    wallet = await _get(request, "/v1/wallets/me")
    return render.page(request, "pay.html", status=status, error=error, qr=qr, wallet=wallet, key=security.form_key())


@router.get("/app/pay/{qr_id}")
@customer_page
async def confirm(request: Request, qr_id: Ident) -> Response:
    return await _confirm_page(request, qr_id)


@router.post("/app/pay/{qr_id}")
@customer_page
async def pay(request: Request, qr_id: Ident) -> Response:
    form = await read_form(request)
    body: dict = {"verification": "one_factor"}
    if form.get("amount"):
        body["amount"] = form["amount"]
    if form.get("password"):
        body.update(verification="two_factors", password=form["password"])
    try:
        paid = await _post(request, f"/v1/qr-codes/{qr_id}/pay", body, form.get("key"))
    except client.ApiProblem as problem:
        said = await class_limit_refusal(request, problem) or pay_refusal(request, problem)
        return await _confirm_page(request, qr_id, problem.status, said)
    return _receipt_redirect(paid)


QR_LIMITS = {
    "qr_day": "This is over today's limit for paying by QR code, %(limit)s.",
    "qr_static": "This is over today's limit for paying static QR codes, %(limit)s.",
}
"""A refused QR payment's day limit (the problem's `bucket`), named in the payer's words with its amount."""


def pay_refusal(request: Request, problem: client.ApiProblem) -> str:
    """Why a QR payment was refused, in the payer's language. Over a QR day limit (银发〔2017〕296号) it names
    the limit, and when the payment password would lift it (the problem's `stronger_verification`, level B
    where the refusal was at level C) says to pay again with it, and up to how much."""
    fmt = render.formatter(request)
    said = render.say(request, problem.code, problem.detail)
    named = QR_LIMITS.get(str(problem.extra.get("bucket"))) if problem.code == "limit_exceeded" else None
    if named is None:
        return said
    said = fmt.gettext(named, limit=fmt.money(str(problem.extra.get("limit", "0"))))
    if problem.extra.get("stronger_verification") == "two_factors":
        said += " " + fmt.gettext(
            "Enter your password and pay again: with it you can pay up to %(limit)s a day by QR code.",
            limit=fmt.money(str(problem.extra.get("stronger_verification_limit", "0"))),
        )
    return said


CLASS_LIMITS = {
    "lifetime": "This is over the limit of your Class %(tier)s account: %(limit)s in all since it was opened, "
    "of which %(left)s is left. Pass more identity checks to move to a higher class.",
    "year": "This is over the limit of your Class %(tier)s account: %(limit)s a year, of which %(left)s is left "
    "this year. Pass more identity checks to move to a higher class.",
}
"""A payment over the wallet class limit (账户分类限额: the problem's `bucket` `tier_lifetime` or `tier_year`),
said with the class, the limit and what is left of it, instead of a bare "over your account's limit"."""


async def class_limit_refusal(request: Request, problem: client.ApiProblem) -> str | None:
    """A payment's or transfer's refusal over the wallet class limit in the payer's words, naming the class,
    the limit and what is left (the limit less what payments have counted against it, `limits.used` of the
    problem's bucket and period); None for any other refusal."""
    bucket, period = str(problem.extra.get("bucket", "")), str(problem.extra.get("period", ""))
    if problem.code != "limit_exceeded" or not bucket.startswith("tier_") or not period:
        return None
    message = CLASS_LIMITS.get(bucket.removeprefix("tier_"))
    if message is None:
        return None
    fmt, me = render.formatter(request), _me(request)
    customer = await _get(request, f"/v1/customers/{me.id}")
    used = await run_in_threadpool(_used, request.app.state.engine, me.id, bucket, period)
    limit = Decimal(str(problem.extra.get("limit", "0")))
    left = max(limit - Decimal(used).scaleb(-2), Decimal(0)).quantize(Decimal("0.01"))
    tier = fmt.gettext("tier:" + str((customer.get("tier") or {}).get("class", "I")))
    return fmt.gettext(message, tier=tier, limit=fmt.money(str(limit)), left=fmt.money(str(left)))


def _used(engine: Engine, customer_id: str, bucket: str, period: str) -> int:
    """What payments have counted against one of the customer's limits so far (fen)."""
    with reading(engine) as connection:
        return limits.used(connection, customer_id, bucket, period)


def _receipt_redirect(paid: dict) -> Response:
    if "review_id" in paid:  # held for a manual review (人工审核): not paid yet
        return redirect(f"/app/reviews/{paid['review_id']}")
    return redirect(f"/app/payments/{paid['id']}", "paid")


@router.get("/app/payments/{payment_id}")
@customer_page
async def receipt(request: Request, payment_id: Ident) -> Response:
    payment = await _get(request, f"/v1/payments/{payment_id}")
    return render.page(request, "receipt.html", payment=payment)


@router.get("/app/reviews/{review_id}")
@customer_page
async def held(request: Request, review_id: Ident) -> Response:
    """A payment held for a manual review (人工审核) as its payer sees it: waiting, approved (with its
    receipt), rejected or expired. Another customer's review, or an id that is none, is not found."""
    try:
        review = await _get(request, f"/v1/risk/reviews/{review_id}")
    except client.ApiProblem as problem:
        if problem.status in (403, 404):  # someone else's review is as good as none to this customer
            return render.error_page(request, 404, render.not_found(request, review_id))
        raise
    if review.get("payer_id") != _me(request).id:
        return render.error_page(request, 404, render.not_found(request, review_id))
    return render.page(request, "held.html", review=review, state=review_state(review))


def review_state(review: dict) -> str:
    """`under_review`, `approved`, `rejected` or `expired`: a review still open past its hold's expiry
    has expired (the sweeper only has not closed it yet; an approval now would find it expired)."""
    state = str(review["status"])
    if state in ("under_review", "pending") and dt.datetime.fromisoformat(review["hold_expires_at"]) <= clock.now():
        return "expired"
    return "under_review" if state == "pending" else state


# -- P2P -----------------------------------------------------------------------------------------


async def _transfer_page(request: Request, status: int = 200, error: str | None = None, form: dict | None = None):
    wallet = await _get(request, "/v1/wallets/me")
    return render.page(
        request,
        "transfer.html",
        status=status,
        error=error,
        wallet=wallet,
        form=form or {},
        me=_me(request).id,
        key=security.form_key(),
    )


@router.get("/app/transfer")
@customer_page
async def transfer_page(request: Request) -> Response:
    return await _transfer_page(request)


PHONE_LIKE = re.compile(r"^(\+?86)?[\s-]*1[\d\s-]{10,14}$")
"""What a payee given by mobile number looks like (a customer number starts `cus_`)."""


def customer_with_phone(engine: Engine, vault: Vault | None, phone: str) -> str | None:
    if vault is None:
        return None
    with reading(engine) as connection:
        return active_customer_by_phone(connection, vault, phone)


async def payee_of(request: Request, given: str) -> str | None:
    """The customer number of the payee the sender named: a customer number as given, or the active
    customer with that mobile number (identity's blind-index lookup; None when no one has it)."""
    if not PHONE_LIKE.match(given):
        return given
    return await run_in_threadpool(customer_with_phone, request.app.state.engine, names.vault_of(request), given)


@router.post("/app/transfer")
@customer_page
async def transfer(request: Request) -> Response:
    form = await read_form(request)
    body = {"to_customer_id": form.get("to_customer_id", ""), "amount": form.get("amount", "")}
    kept = {"to_customer_id": body["to_customer_id"][:64], "amount": body["amount"][:32]}
    _ = render.formatter(request).gettext
    missing = next((name for name in TRANSFER_FIELDS if not body[name]), None)
    if missing is not None:  # said in the sender's words, as the API would refuse it in its own
        return await _transfer_page(request, 422, _(TRANSFER_FIELDS[missing]), kept)
    payee = await payee_of(request, body["to_customer_id"])
    if payee is None:
        return await _transfer_page(request, 404, _(NO_SUCH_PHONE), kept)
    if payee == _me(request).id:
        return await _transfer_page(request, 422, _(TO_YOURSELF), kept)
    try:
        paid = await _post(request, "/v1/transfers/p2p", {**body, "to_customer_id": payee}, form.get("key"))
    except client.ApiProblem as problem:
        said = await class_limit_refusal(request, problem) or transfer_refusal(request, problem)
        return await _transfer_page(request, problem.status, said, kept)
    return _receipt_redirect(paid)


TRANSFER_FIELDS = {
    "to_customer_id": "Enter the mobile number or the customer number of the person you are sending money to.",
    "amount": "Enter the amount in CNY, such as 66.00.",
}
"""What to tell the sender when a field of the transfer form fails the API's validation (`invalid_request`,
one entry per field in its `errors`), by the field, instead of the API's words ("to_customer_id: String
should have at least 1 character")."""
NO_SUCH_CUSTOMER = "No Puhui user has this customer number. Check it with them: it is shown on their Me page."
TRANSFER_PROBLEMS = {
    "invalid_amount": "Enter an amount greater than zero in CNY, with at most two decimal places, such as 66.00.",
    "invalid_input": "Enter an amount greater than zero in CNY, with at most two decimal places, such as 66.00.",
    "not_found": NO_SUCH_CUSTOMER,
    "customer_not_found": NO_SUCH_CUSTOMER,
}
"""A transfer's refusals of the platform's generic codes, said for this form: its only free amount is the
amount (the payee is someone else, checked before), and what is not found is the payee."""
NO_SUCH_PHONE = "No Puhui user has this mobile number."
TO_YOURSELF = "You cannot transfer money to yourself."


def transfer_refusal(request: Request, problem: client.ApiProblem) -> str:
    """Why a transfer was refused, in the sender's language: a missing or malformed field named in their
    words (the first the API lists), the form's own reading of a generic code, else the problem as every
    page says it."""
    _ = render.formatter(request).gettext
    if problem.code == "invalid_request":
        for error in problem.extra.get("errors") or ():
            location = str(error.get("location", "")) if isinstance(error, dict) else ""
            message = TRANSFER_FIELDS.get(location.rsplit(".", 1)[-1])
            if message is not None:
                return _(message)
    if problem.code in TRANSFER_PROBLEMS:
        return _(TRANSFER_PROBLEMS[problem.code])
    return render.say(request, problem.code, problem.detail, problem.status)


# -- bills ----------------------------------------------------------------------------------------


@router.get("/app/bills")
@customer_page
async def bill_list(
    request: Request,
    direction: Annotated[str, Query(max_length=3, pattern=r"^(in|out)?$")] = "",
    kind: Annotated[str, Query(max_length=64, pattern=r"^[a-z_]*$")] = "",
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    chosen = {"direction": direction, "kind": kind, "from": start, "to": end}
    error: str | None
    params = bills.filter_params(direction, kind, start, end, before)
    try:
        page = await _get(request, "/v1/wallets/me/transactions", **params, limit=50)
    except client.ApiProblem as problem:
        if problem.status >= 500:
            raise
        page, error = {"transactions": [], "next_before": None}, render.say(request, problem.code, problem.detail)
    else:
        error = None
    older = bills.filter_params(direction, kind, start, end, page["next_before"]) if page["next_before"] else None
    return render.page(
        request,
        "bills.html",
        status=200 if error is None else 422,
        error=error,
        bills=page["transactions"],
        kinds=bills.KINDS,
        held=bills.HELD,
        chosen=chosen,
        older=older,
    )
