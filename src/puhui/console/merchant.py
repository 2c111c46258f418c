"""The merchant portal (商户后台, /merchant): QR codes as images (静态码/动态码), takings by day (每日收款),
its refund funds (退款资金: top up from, and withdraw back to, its settlement account), refunds (退款),
T+1 settlements (结算) and their status, the fee rate (费率), API keys and the notification log. Every
change and almost every figure is an API call with the merchant's own key; takings by day, which the API
has no list for, are the merchant's own payments read in process; its recent settlements, and the chosen
date's among them, are one API read of a range of dates."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy import Engine

from puhui import clock
from puhui.console import client, i18n, render, svg
from puhui.console.settlement_columns import settlement_head
from puhui.console.staff import (
    MERCHANT_ROLES,
    done,
    field,
    form,
    get,
    link,
    post,
    section,
    sections_page,
    staff_page,
)
from puhui.console.web import read_form
from puhui.db import reading
from puhui.money import format_minor
from puhui.payments.queries import payments_between
from puhui.payments.settlement import MAX_RANGE_DAYS

router = APIRouter(include_in_schema=False)
Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
DAYS = 7
ORDERS = 20
"""How many of the newest refund-fund top-ups and withdrawals the overview lists, each."""


def _me(request: Request) -> str:
    return request.state.staff.id


def takings_by_day(engine: Engine, merchant_id: str, last: dt.date, days: int = DAYS) -> list[tuple[str, Decimal, int]]:
    """(China date, amount, count) of the merchant's payments received on each of `days` dates to `last`."""
    first = last - dt.timedelta(days=days - 1)
    start = clock.to_micros(clock.china_midnight(first))
    end = clock.to_micros(clock.china_midnight(last + dt.timedelta(days=1)))
    with reading(engine) as connection:
        rows = [r for r in payments_between(connection, start, end) if r["payee_id"] == merchant_id]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        day = clock.from_micros(row["created_at"]).astimezone(clock.CHINA).date().isoformat()
        totals[day][0] += row["amount"]
        totals[day][1] += 1
    dates = [(first + dt.timedelta(days=n)).isoformat() for n in range(days)]
    return [(d, Decimal(format_minor(totals[d][0], 2)), totals[d][1]) for d in dates]


SENT = {
    "top_up": "The top-up was sent to the bank: it reaches the refund funds once the bank confirms it.",
    "withdrawal": "The withdrawal was sent to the bank: it reaches the settlement account once the bank pays it.",
}
"""What the overview tells after a refund-funds form (`?sent=`), by a fixed key (nothing else is shown)."""


@router.get("/merchant")
@staff_page(MERCHANT_ROLES)
async def overview(request: Request, sent: Annotated[str | None, Query(max_length=16)] = None) -> Response:
    return await _overview(request, sent=SENT.get(sent or ""))


async def _overview(request: Request, status: int = 200, error: str | None = None, sent: str | None = None) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    me = await get(request, f"/v1/merchants/{_me(request)}")
    wallet = await get(request, "/v1/wallets/me")
    top_ups = (await get(request, "/v1/merchants/me/top-ups", limit=ORDERS))["top_ups"]
    withdrawals = (await get(request, "/v1/merchants/me/refund-funds/withdrawals", limit=ORDERS))["withdrawals"]
    days = await run_in_threadpool(takings_by_day, request.app.state.engine, _me(request), clock.business_date())
    fee = me["effective_fee_rate_bp"]
    funds = wallet.get("refund_funds") or {"available": "0.00", "pending_in": "0.00"}
    facts = [
        [_("Merchant name"), me["name"]],
        [_("Status"), _("merchant:" + me["status"])],
        [_("Fee rate"), f"{Decimal(fee) / 100:.2f}%" + ("" if me.get("fee_rate_bp") is not None else _(" (default)"))],
        [_("Wallet balance"), fmt.money(wallet.get("balance"))],
        [_("Settlement account"), f"{me['settlement']['bank']} {me['settlement']['account']}"],
    ]
    refund_funds = [
        [_("Available"), fmt.money(funds["available"])],
        [_("Top-ups pending at the bank"), fmt.money(funds["pending_in"])],
    ]
    chart = svg.bar_chart([svg.Bar(d[5:], amount) for d, amount, _n in days], _("Takings by day"))
    rows = [[fmt.day(d), fmt.money(amount), str(n)] for d, amount, n in reversed(days)]
    amount = [field("amount", _("Amount (CNY)"), required=True, maxlength=20)]
    return sections_page(
        request,
        me["name"],
        [
            section(_("Merchant"), [_("Item"), _("Value")], facts, id="merchant-facts"),
            section(
                _("Refund funds"),
                [_("Item"), _("Value")],
                refund_funds,
                id="refund-funds",
                text=[
                    _("Topped up from the settlement account to pay refunds; withdraw what you no longer need."),
                    *([_(sent)] if sent else []),
                ],
                forms=[
                    form("top-up", "/merchant/refund-funds/top-ups", _("Top up from the settlement account"), amount),
                    form(
                        "withdraw",
                        "/merchant/refund-funds/withdrawals",
                        _("Withdraw to the settlement account"),
                        amount,
                    ),
                ],
            ),
            orders_section(request, _("Top-ups of the refund funds"), top_ups, "refund-fund-top-ups"),
            orders_section(request, _("Withdrawals of the refund funds"), withdrawals, "refund-fund-withdrawals"),
            section(_("Takings by day"), [_("Date"), _("Amount"), _("Payments")], rows, chart=chart, id="takings"),
        ],
        status=status,
        error=error,
    )


def orders_section(request: Request, title: str, orders: list[dict], section_id: str) -> dict:
    """The refund funds' bank orders of one kind (top-ups or withdrawals), newest first: when each was
    made, its amount, its status at the bank (处理中, 成功, 失败) and its order number."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    rows = [[fmt.moment(o["created_at"]), fmt.money(o["amount"]), _("status:" + o["status"]), o["id"]] for o in orders]
    head = [_("Time"), _("Amount"), _("Status"), _("Order number")]
    return section(title, head, rows, id=section_id, empty=_("No orders yet."))


async def _refund_funds_order(request: Request, path: str, sent: str) -> Response:
    values = await read_form(request)
    try:
        await post(request, path, {"amount": values.get("amount", "")}, values.get("key") or None)
    except client.ApiProblem as problem:
        if problem.status >= 500 or problem.status == 401:
            raise
        return await _overview(request, problem.status, render.say(request, problem.code, problem.detail))
    return RedirectResponse(f"/merchant?sent={sent}", status_code=303)


@router.post("/merchant/refund-funds/top-ups")
@staff_page(MERCHANT_ROLES)
async def top_up_refund_funds(request: Request) -> Response:
    return await _refund_funds_order(request, "/v1/merchants/me/top-ups", "top_up")


@router.post("/merchant/refund-funds/withdrawals")
@staff_page(MERCHANT_ROLES)
async def withdraw_refund_funds(request: Request) -> Response:
    return await _refund_funds_order(request, "/v1/merchants/me/refund-funds/withdrawals", "withdrawal")


@router.get("/merchant/qr")
@staff_page(MERCHANT_ROLES)
async def qr_codes(request: Request, id: Annotated[str | None, Query(max_length=64)] = None) -> Response:  # noqa: A002
    return await _qr_page(request, id)


async def _qr_page(
    request: Request, qr_id: str | None, status: int = 200, error: str | None = None, typed: dict | None = None
) -> Response:
    """The QR codes page, showing the code `qr_id` (with a form to cancel it while it is an open dynamic one);
    after a refusal its `error`, and what the dynamic form had (`typed`) kept in it."""
    _ = render.formatter(request).gettext
    typed = typed or {}
    sections = []
    if qr_id:
        qr = await get(request, f"/v1/qr-codes/{qr_id}")
        if qr["merchant_id"] != _me(request):
            return render.error_page(request, 404)
        picture = svg.qr_code(qr["id"], _("QR code") + " " + qr["id"])
        facts = [
            [_("Kind"), _("qr:" + qr["kind"])],
            [_("Amount"), render.formatter(request).money(qr["amount"]) if qr.get("amount") else _("Payer enters it")],
            [_("Status"), _("status:" + qr["status"])],
            [_("Expires"), render.formatter(request).moment(qr.get("expires_at"))],
        ]
        if qr.get("order_ref"):
            facts.insert(2, [_("Order reference"), qr["order_ref"]])
        cancel = []
        if qr["kind"] == "dynamic" and qr["status"] == "active":
            cancel = [form("cancel", f"/merchant/qr/{qr['id']}/cancel", _("Cancel this code"), [])]
        sections.append(
            section(
                _("QR code"),
                [_("Item"), _("Value")],
                facts,
                chart=picture,
                caption=qr["id"],
                id="qr",
                forms=cancel,
            )
        )
    sections.append(
        section(
            _("New QR code"),
            text=[_("A static code takes any amount the payer enters; a dynamic code is for one order and expires.")],
            forms=[
                form("static", "/merchant/qr", _("Create a static code"), [field("kind", "", "hidden", "static")]),
                form(
                    "dynamic",
                    "/merchant/qr",
                    _("Create a dynamic code"),
                    [
                        field("kind", "", "hidden", "dynamic"),
                        field(
                            "amount", _("Amount (CNY)"), value=typed.get("amount", "")[:20], required=True, maxlength=20
                        ),
                        field("order_ref", _("Order reference"), value=typed.get("order_ref", "")[:64], maxlength=64),
                    ],
                ),
            ],
        )
    )
    return sections_page(request, _("QR codes"), sections, status=status, error=error)


def order_ref_in_use(request: Request, problem: client.ApiProblem) -> str:
    """A dynamic code refused for an order reference another code of the merchant holds (`order_ref_in_use`),
    in the merchant's language: which code holds it (the problem's `qr_code_id`, `qr_code_status`,
    `order_ref`) and that cancelling that code, while it is unpaid, frees the reference."""
    _ = render.formatter(request).gettext
    holder, status, ref = (problem.extra.get(k) for k in ("qr_code_id", "qr_code_status", "order_ref"))
    if not holder:
        return render.say(request, problem.code, problem.detail, problem.status)
    if status == "paid":
        return _(
            "Order %(ref)s already has QR code %(code)s, and it is paid: make a new code with another order reference.",
            ref=ref,
            code=holder,
        )
    return _(
        "Order %(ref)s already has QR code %(code)s (%(status)s): cancel that code below to free the order reference, or let it expire unpaid, then make a new one.",  # noqa: E501 - one msgid, found by the catalogue check
        ref=ref,
        code=holder,
        status=_("status:" + str(status)),
    )


@router.post("/merchant/qr")
@staff_page(MERCHANT_ROLES)
async def create_qr(request: Request) -> Response:
    values = await read_form(request)
    body: dict[str, str] = {"kind": values.get("kind", "")}
    if values.get("kind") == "dynamic":
        body["amount"] = values.get("amount", "")
        if values.get("order_ref"):
            body["order_ref"] = values["order_ref"]
    try:
        made = await post(request, f"/v1/merchants/{_me(request)}/qr-codes", body, values.get("key") or None)
    except client.ApiProblem as problem:
        if problem.code != "order_ref_in_use":
            raise
        holder = problem.extra.get("qr_code_id")
        shown = str(holder) if isinstance(holder, str) and holder else None
        return await _qr_page(request, shown, problem.status, order_ref_in_use(request, problem), body)
    return done(f"/merchant/qr?id={made['id']}", "qr_made")


@router.post("/merchant/qr/{qr_id}/cancel")
@staff_page(MERCHANT_ROLES)
async def cancel_qr(request: Request, qr_id: Ident) -> Response:
    """Cancel an unpaid dynamic code (its order reference is free again for a new code)."""
    values = await read_form(request)
    await post(request, f"/v1/qr-codes/{qr_id}/cancel", None, values.get("key") or None)
    return done(f"/merchant/qr?id={qr_id}", "qr_cancelled")


def _payment_rows(request: Request, payment: dict) -> list[list[str]]:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    return [
        [_("Payment"), payment["id"]],
        [_("Amount"), fmt.money(payment["amount"])],
        [_("Fee"), fmt.money(payment["fee"])],
        [_("Refunded"), fmt.money(payment["refunded"])],
        [_("Paid at"), fmt.moment(payment["created_at"])],
    ]


@router.get("/merchant/refunds")
@staff_page(MERCHANT_ROLES)
async def refunds(request: Request, payment: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    return await _refunds_page(request, payment)


async def _refunds_page(
    request: Request,
    payment_id: str | None,
    status: int = 200,
    error: str | None = None,
    typed: str = "",
    amount: str = "",
) -> Response:
    """The refunds page; after a refusal, `typed` and `amount`: what the form had, kept in it."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    sections = []
    if payment_id:
        payment = await get(request, f"/v1/payments/{payment_id}")
        sections.append(section(_("Payment"), [_("Item"), _("Value")], _payment_rows(request, payment), id="payment"))
    today = clock.business_date()
    received = await run_in_threadpool(_recent_payments, request.app.state.engine, _me(request), today)
    rows = [
        [
            fmt.moment(clock.iso(p["created_at"])),
            fmt.money(format_minor(p["amount"], 2)),
            fmt.money(format_minor(p["refunded"], 2)),
            link(f"/merchant/refunds?payment={p['id']}", p["id"]),
        ]
        for p in received
    ]
    sections.append(
        section(
            _("Refund a payment"),
            forms=[
                form(
                    "refund",
                    "/merchant/refunds",
                    _("Refund"),
                    [
                        field("payment_id", _("Payment id"), value=payment_id or typed, required=True, maxlength=64),
                        field("amount", _("Amount (CNY)"), value=amount[:20], required=True, maxlength=20),
                    ],
                )
            ],
        )
    )
    head = [_("Paid at"), _("Amount"), _("Refunded"), _("Payment")]
    sections.append(section(_("Recent payments"), head, rows, id="recent-payments"))
    return sections_page(request, _("Refunds"), sections, status=status, error=error)


def _balance_short(request: Request, problem: client.ApiProblem) -> str:
    """The refusal of a refund the merchant's balance cannot pay, in its language: the API's
    `merchant_balance_insufficient`, and what to top up on the overview (the problem's `top_up_at_least`),
    or, when that is 0.00 (its top-ups pending at the bank cover the shortfall), to wait for them."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    said = render.say(request, "merchant_balance_insufficient", problem.detail)
    try:
        amount = Decimal(str(problem.extra.get("top_up_at_least", "0")))
    except ArithmeticError:  # not a decimal: told to wait rather than shown a wrong figure
        amount = Decimal(0)
    if amount <= 0:
        return said + " " + _("Wait for the top-ups pending at the bank, then refund again.")
    return said + " " + _("Top up at least %(amount)s on the overview, then refund again.", amount=fmt.money(amount))


def _recent_payments(engine: Engine, merchant_id: str, today: dt.date) -> list[dict]:
    start = clock.to_micros(clock.china_midnight(today - dt.timedelta(days=DAYS)))
    with reading(engine) as connection:
        found = [r for r in payments_between(connection, start, clock.now_micros() + 1) if r["payee_id"] == merchant_id]
    return list(reversed(found))[:50]


@router.post("/merchant/refunds")
@staff_page(MERCHANT_ROLES)
async def refund(request: Request) -> Response:
    values = await read_form(request)
    payment_id = values.get("payment_id", "")[:64]
    try:
        await post(
            request,
            f"/v1/payments/{payment_id}/refunds",
            {"amount": values.get("amount", "")},
            values.get("key") or None,
        )
    except client.ApiProblem as problem:
        if problem.status >= 500 or problem.status == 401:
            raise
        message = render.say(request, problem.code, problem.detail)
        if problem.code == "merchant_balance_insufficient":
            message = _balance_short(request, problem)
        return await _refunds_page(request, None, problem.status, message, payment_id, values.get("amount", ""))
    return done(f"/merchant/refunds?payment={payment_id}", "refunded")


@router.get("/merchant/settlements")
@staff_page(MERCHANT_ROLES)
async def settlements(request: Request, date: Annotated[dt.date | None, Query()] = None) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    day = date or clock.business_date() - dt.timedelta(days=1)
    recent, (held_from, held_to) = await recent_settlements(request)
    if held_from <= day <= held_to:  # the recent answer holds every settlement of the day: no second call
        found = [s for s in recent if s["business_date"] == day.isoformat()]
    else:
        found = (await get(request, "/v1/settlements", business_date=day.isoformat()))["settlements"]
    head = settlement_head(fmt, _("Business date"))
    picker = form(
        "day", "/merchant/settlements", _("Show"), [field("date", _("Business date"), "date", day.isoformat())], "get"
    )
    carried_into = {older["business_date"]: newer["business_date"] for newer, older in zip(recent, recent[1:])}
    alerts = [
        link(
            f"/merchant/settlements?date={s['business_date']}",
            _(
                "The settlement of %(day)s is %(state)s: %(net)s not paid yet.",
                day=fmt.day(s["business_date"]),
                state=_("state:" + s["state"]),
                net=fmt.money(s["net"]),
            ),
        )
        for s in outstanding(recent)
        if s["business_date"] != day.isoformat()
    ]
    return sections_page(
        request,
        _("Settlements"),
        [
            section(
                _("T+1 settlement of %(day)s", day=fmt.day(day)),
                head,
                [_settlement_row(fmt, s, carried_into) for s in found],
                text=[_sum_line(fmt, s) for s in found],
                alerts=alerts,
                forms=[picker],
                id="settlements",
                empty=_("No settlement for this date yet."),
            ),
            section(
                _("Recent settlements"),
                head,
                [_settlement_row(fmt, s, carried_into, linked=True) for s in recent],
                text=[_("The last %(count)s settlements, newest first.", count=RECENT)],
                id="recent-settlements",
                empty=_("No settlement yet."),
            ),
        ],
    )


RECENT = 30
"""How many of the merchant's newest settlements the settlements page lists."""
TAGS = {"failed": "failed", "pending": "pending", "waiting": "pending"}
"""Settlement states whose money has not reached the settlement account, flagged on the page (their tag's
class): a failed payout, one pending at the bank, and a date waiting on an earlier one (`waiting`)."""


def outstanding(recent: list[dict]) -> list[dict]:
    """Of the settlements, newest first, those whose money is still on its way: a payout pending at the bank,
    a date waiting on an earlier one, or a failed payout no later settlement has settled (a failed payout's
    money is paid again with the next one)."""
    found, settled_later = [], False
    for s in recent:
        if s["state"] in ("pending", "waiting") or (s["state"] == "failed" and not settled_later):
            found.append(s)
        settled_later = settled_later or s["state"] in ("paid", "nothing")
    return found


async def recent_settlements(request: Request) -> tuple[list[dict], tuple[dt.date, dt.date]]:
    """The merchant's `RECENT` newest settlements of the last `MAX_RANGE_DAYS` business dates, newest first, in
    one call; and the dates the answer holds every settlement of (a merchant has one a date): the whole range
    when the answer is all of it, else from the oldest date it reached."""
    today = clock.business_date()
    first = today - dt.timedelta(days=MAX_RANGE_DAYS - 1)
    window = {"from": first.isoformat(), "to": today.isoformat()}
    answer = await get(request, "/v1/settlements", **window, limit=RECENT)
    recent = answer["settlements"]
    held_from = first if answer["complete"] else dt.date.fromisoformat(recent[-1]["business_date"])
    return recent, (held_from, today)


def failure_reason(fmt: i18n.Formatter, settlement: dict) -> str:
    """Why a failed payout failed, in the page's language (the API's `failure_reason`, when it gives one)."""
    reason = settlement.get("failure_reason")
    if settlement.get("state") != "failed" and not reason:
        return ""
    if not reason:
        return fmt.gettext("Reason not given")
    label = fmt.gettext("settlement_failure:" + reason)
    return reason if label == "settlement_failure:" + reason else label


def _settlement_row(fmt: i18n.Formatter, s: dict, carried_into: dict[str, str], linked: bool = False) -> list:
    _ = fmt.gettext
    state = _("state:" + s["state"])
    shown_day = fmt.day(s["business_date"])
    reason = failure_reason(fmt, s)
    again = s.get("retried_on") or carried_into.get(s["business_date"])  # the API's date, else the next row's
    if s["state"] == "failed" and again:
        reason = _("%(reason)s; paid again with the settlement of %(day)s", reason=reason, day=fmt.day(again))
    return [
        link(f"/merchant/settlements?date={s['business_date']}", shown_day) if linked else shown_day,
        fmt.money(s["gross"]),
        fmt.money(s["fees"]),
        fmt.money(s["refunds"]),
        fmt.money(s["other_credits"]),
        fmt.money(s.get("carried", "0.00")),
        fmt.money(s["net"]),
        Markup(f'<span class="tag {TAGS[s["state"]]}">{escape(state)}</span>') if s["state"] in TAGS else state,
        reason or "—",
    ]


def _sum_line(fmt: i18n.Formatter, s: dict) -> str:
    """How the payout adds up: gross − fees − refunds (less the fees they returned) + other credits + carried = net."""
    return fmt.gettext(
        "%(gross)s gross − %(fees)s fees − %(refunds)s refunds less fees returned + %(other)s other credits + "
        "%(carried)s carried from earlier days = %(net)s paid out",
        gross=fmt.money(s["gross"]),
        fees=fmt.money(s["fees"]),
        refunds=fmt.money(s["refunds"]),
        other=fmt.money(s["other_credits"]),
        carried=fmt.money(s.get("carried", "0.00")),
        net=fmt.money(s["net"]),
    )


@router.get("/merchant/keys")
@staff_page(MERCHANT_ROLES)
async def keys(request: Request) -> Response:
    return await _keys_page(request)


async def _keys_page(request: Request, issued: str | None = None) -> Response:
    _ = render.formatter(request).gettext
    found = await get(request, f"/v1/merchants/{_me(request)}/api-keys")
    fmt = render.formatter(request)
    rows = [
        [k["prefix"], fmt.moment(k["created_at"]), _("Revoked") if k["revoked"] else _("Active")]
        for k in found["api_keys"]
    ]
    sections = []
    if issued:
        sections.append(
            section(_("New API key"), text=[_("Copy it now: it is shown only once."), issued], id="new-key")
        )
    issue = form("issue", "/merchant/keys", _("Issue a new key"), [])
    revokes = [
        form("revoke-" + k["prefix"], f"/merchant/keys/{k['prefix']}/revoke", _("Revoke") + " " + k["prefix"], [])
        for k in found["api_keys"]
        if not k["revoked"] and k["prefix"] not in request.state.staff.token
    ]
    head = [_("Prefix"), _("Created"), _("Status")]
    sections.append(section(_("API keys"), head, rows, forms=[issue, *revokes], id="keys"))
    return sections_page(request, _("API keys"), sections)


@router.post("/merchant/keys")
@staff_page(MERCHANT_ROLES)
async def issue_key(request: Request) -> Response:
    values = await read_form(request)
    made = await post(request, f"/v1/merchants/{_me(request)}/api-keys", None, values.get("key") or None)
    return await _keys_page(request, made.get("api_key"))


@router.post("/merchant/keys/{prefix}/revoke")
@staff_page(MERCHANT_ROLES)
async def revoke_key(request: Request, prefix: Ident) -> Response:
    values = await read_form(request)
    await post(request, f"/v1/merchants/{_me(request)}/api-keys/{prefix}/revoke", None, values.get("key") or None)
    return done("/merchant/keys", "key_revoked")


@router.get("/merchant/notifications")
@staff_page(MERCHANT_ROLES)
async def notifications(request: Request) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    found = await get(request, f"/v1/merchants/{_me(request)}/notifications", limit=100)
    rows = [
        [
            str(n["id"]),
            n["event"],
            _("status:" + n["status"]),
            str(n["attempts"]),
            str(n.get("last_status") or "—"),
            fmt.moment(n.get("delivered_at")),
        ]
        for n in found["notifications"]
    ]
    head = [_("Number"), _("Event"), _("Status"), _("Attempts"), _("Last HTTP status"), _("Delivered")]
    return sections_page(
        request,
        _("Notifications"),
        [
            section(
                _("Notification log"),
                head,
                rows,
                id="notifications",
                empty=_("No notifications: set a notify URL to receive them."),
            )
        ],
    )
