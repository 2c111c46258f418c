"""The merchant portal (商户后台, /merchant): QR codes as images (静态码/动态码), takings by day (每日收款),
refunds (退款), T+1 settlements (结算) and their status, the fee rate (费率), API keys and the notification
log. Every change and almost every figure is an API call with the merchant's own key; takings by day,
which the API has no list for, are the merchant's own payments read in process."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from puhui import clock
from puhui.console import render, svg
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

router = APIRouter(include_in_schema=False)
Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
DAYS = 7


def _me(request: Request) -> str:
    return request.state.staff.id


def takings_by_day(engine, merchant_id: str, last: dt.date, days: int = DAYS) -> list[tuple[str, Decimal, int]]:  # type: ignore[no-untyped-def]
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


@router.get("/merchant")
@staff_page(MERCHANT_ROLES)
async def overview(request: Request) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    me = await get(request, f"/v1/merchants/{_me(request)}")
    wallet = await get(request, "/v1/wallets/me")
    days = await run_in_threadpool(takings_by_day, request.app.state.engine, _me(request), clock.business_date())
    fee = me["effective_fee_rate_bp"]
    facts = [
        [_("Merchant name"), me["name"]],
        [_("Status"), _("merchant:" + me["status"])],
        [_("Fee rate"), f"{Decimal(fee) / 100:.2f}%" + ("" if me.get("fee_rate_bp") is not None else _(" (default)"))],
        [_("Wallet balance"), fmt.money(wallet.get("balance"))],
        [_("Settlement account"), f"{me['settlement']['bank']} {me['settlement']['account']}"],
    ]
    chart = svg.bar_chart([svg.Bar(d[5:], amount) for d, amount, _n in days], _("Takings by day"))
    rows = [[fmt.day(d), fmt.money(amount), str(n)] for d, amount, n in reversed(days)]
    return sections_page(
        request,
        me["name"],
        [
            section(_("Merchant"), [_("Item"), _("Value")], facts, id="merchant-facts"),
            section(_("Takings by day"), [_("Date"), _("Amount"), _("Payments")], rows, chart=chart, id="takings"),
        ],
    )


@router.get("/merchant/qr")
@staff_page(MERCHANT_ROLES)
async def qr_codes(request: Request, id: Annotated[str | None, Query(max_length=64)] = None) -> Response:  # noqa: A002
    _ = render.formatter(request).gettext
    sections = []
    if id:
        qr = await get(request, f"/v1/qr-codes/{id}")
        if qr["merchant_id"] != _me(request):
            return render.error_page(request, 404)
        picture = svg.qr_code(qr["id"], _("QR code") + " " + qr["id"])
        facts = [
            [_("Kind"), _("qr:" + qr["kind"])],
            [_("Amount"), render.formatter(request).money(qr["amount"]) if qr.get("amount") else _("Payer enters it")],
            [_("Status"), _("status:" + qr["status"])],
            [_("Expires"), render.formatter(request).moment(qr.get("expires_at"))],
        ]
        sections.append(section(_("QR code"), [_("Item"), _("Value")], facts, chart=picture, caption=qr["id"], id="qr"))
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
                        field("amount", _("Amount (CNY)"), required=True, maxlength=20),
                        field("order_ref", _("Order reference"), maxlength=64),
                    ],
                ),
            ],
        )
    )
    return sections_page(request, _("QR codes"), sections)


@router.post("/merchant/qr")
@staff_page(MERCHANT_ROLES)
async def create_qr(request: Request) -> Response:
    values = await read_form(request)
    body: dict[str, str] = {"kind": values.get("kind", "")}
    if values.get("kind") == "dynamic":
        body["amount"] = values.get("amount", "")
        if values.get("order_ref"):
            body["order_ref"] = values["order_ref"]
    made = await post(request, f"/v1/merchants/{_me(request)}/qr-codes", body, values.get("key") or None)
    return done(f"/merchant/qr?id={made['id']}", "qr_made")


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
    request: Request, payment_id: str | None, status: int = 200, error: str | None = None
) -> Response:
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
                        field("payment_id", _("Payment id"), value=payment_id or "", required=True, maxlength=64),
                        field("amount", _("Amount (CNY)"), required=True, maxlength=20),
                    ],
                )
            ],
        )
    )
    head = [_("Paid at"), _("Amount"), _("Refunded"), _("Payment")]
    sections.append(section(_("Recent payments"), head, rows, id="recent-payments"))
    return sections_page(request, _("Refunds"), sections, status=status, error=error)


def _recent_payments(engine, merchant_id: str, today: dt.date) -> list[dict]:  # type: ignore[no-untyped-def]
    start = clock.to_micros(clock.china_midnight(today - dt.timedelta(days=DAYS)))
    with reading(engine) as connection:
        found = [r for r in payments_between(connection, start, clock.now_micros() + 1) if r["payee_id"] == merchant_id]
    return list(reversed(found))[:50]


@router.post("/merchant/refunds")
@staff_page(MERCHANT_ROLES)
async def refund(request: Request) -> Response:
    values = await read_form(request)
    payment_id = values.get("payment_id", "")[:64]
    from puhui.console import client

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
        return await _refunds_page(request, None, problem.status, message)
    return done(f"/merchant/refunds?payment={payment_id}", "refunded")


@router.get("/merchant/settlements")
@staff_page(MERCHANT_ROLES)
async def settlements(request: Request, date: Annotated[dt.date | None, Query()] = None) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    day = date or clock.business_date() - dt.timedelta(days=1)
    found = await get(request, "/v1/settlements", business_date=day.isoformat())
    rows = [
        [
            fmt.day(s["business_date"]),
            fmt.money(s["gross"]),
            fmt.money(s["fees"]),
            fmt.money(s["refunds"]),
            fmt.money(s["other_credits"]),
            fmt.money(s["net"]),
            _("state:" + s["state"]),
        ]
        for s in found["settlements"]
    ]
    head = [_("Business date"), _("Gross"), _("Fees"), _("Refunds"), _("Other credits"), _("Net paid out"), _("Status")]
    picker = form(
        "day", "/merchant/settlements", _("Show"), [field("date", _("Business date"), "date", day.isoformat())], "get"
    )
    return sections_page(
        request,
        _("Settlements"),
        [
            section(
                _("T+1 settlement of %(day)s", day=fmt.day(day)),
                head,
                rows,
                forms=[picker],
                id="settlements",
                empty=_("No settlement for this date yet."),
            )
        ],
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
