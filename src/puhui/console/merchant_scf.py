"""The merchant portal's supply-chain finance (供应链金融, /merchant/supply-chain), all through the API with the
merchant's own key. A core enterprise (核心企业) sees its credit (授信额度, 已用, 可用) and discount rate, sets
money aside for its payables (兑付资金: top-ups from and withdrawals to its settlement account), confirms a
payable to a supplier (应付账款确认) and pays one that is due; a supplier sees its receivables (应收账款) and
sells one to the platform at a discount before it matures (保理融资). A receivable's actions are on its own
view (`?receivable=`): the one it is open to for this merchant, as the API would allow it. The other side of a
receivable (its supplier, its core enterprise) is shown by its trading name, its merchant id under it
(`console.names`: identity's names, read once for the page)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from puhui import clock
from puhui.console import client, render
from puhui.console.merchant import Ident, orders_section
from puhui.console.names import named, names_of
from puhui.console.staff import MERCHANT_ROLES, done, field, form, get, link, post, section, sections_page, staff_page
from puhui.console.web import read_form

router = APIRouter(include_in_schema=False)
PAGE = "/merchant/supply-chain"
FUNDS = "/v1/supplychain/core-enterprises/me/payables-funds"
ORDERS = 20
OPEN = ("confirmed", "financed", "overdue")
PARTIES = ("core_id", "supplier_id")  # a receivable's two sides, each a merchant shown by name
SENT = {
    "top_up": "The top-up was sent to the bank: it reaches the payables funds once the bank confirms it.",
    "withdrawal": "The withdrawal was sent to the bank: it reaches the settlement account once the bank pays it.",
}
"""What the page tells after a payables-funds form (`?sent=`), by a fixed key (nothing else is shown)."""


def _me(request: Request) -> str:
    return request.state.staff.id


async def _core(request: Request) -> dict | None:
    """The merchant's core-enterprise credit, or None when it is not one (the API's 404)."""
    try:
        return await get(request, "/v1/supplychain/core-enterprises/me")
    except client.ApiProblem as problem:
        if problem.code == "core_enterprise_not_found":
            return None
        raise


def may_pay(receivable: dict, today: dt.date) -> bool:
    """The core may pay it: open, and due (its maturity date has come)."""
    return receivable["status"] in OPEN and dt.date.fromisoformat(receivable["maturity_date"]) <= today


def may_finance(receivable: dict, today: dt.date) -> bool:
    """The supplier may sell it: confirmed, not financed, and before its maturity date."""
    return receivable["status"] == "confirmed" and today < dt.date.fromisoformat(receivable["maturity_date"])


@router.get(PAGE)
@staff_page(MERCHANT_ROLES)
async def supply_chain(
    request: Request,
    receivable: Annotated[str | None, Query(max_length=64)] = None,
    sent: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    return await _page(request, receivable, sent=SENT.get(sent or ""))


async def _page(
    request: Request,
    receivable_id: str | None = None,
    status: int = 200,
    error: str | None = None,
    sent: str | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    _ = render.formatter(request).gettext
    today = clock.business_date()
    core = await _core(request)
    sections: list[dict] = []
    shown = await get(request, f"/v1/supplychain/receivables/{receivable_id}") if receivable_id else None
    payables = await get(request, "/v1/supplychain/receivables", core_id=_me(request)) if core is not None else []
    receivables = await get(request, "/v1/supplychain/receivables", supplier_id=_me(request))
    parties = [r[side] for r in (*payables, *receivables, *([shown] if shown else [])) for side in PARTIES]
    names = await names_of(request, parties)
    if shown is not None:
        sections.append(_receivable_section(request, shown, today, names))
    if core is not None:
        sections += await _core_sections(request, core, sent, typed or {})
        sections.append(_list_section(request, _("Payables"), payables, "payables", "supplier_id", today, names))
    sections.append(_list_section(request, _("Receivables"), receivables, "receivables", "core_id", today, names))
    if core is None:
        sections.append(
            section(
                _("Core enterprise"),
                text=[
                    _(
                        "This merchant is not a core enterprise: the platform's operators register one with a credit "
                        "limit, after which it can confirm payables to its suppliers here."
                    )
                ],
                id="not-core",
            )
        )
    return sections_page(request, _("Supply-chain finance"), sections, status=status, error=error)


async def _core_sections(request: Request, core: dict, sent: str | None, typed: dict[str, str]) -> list[dict]:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    funds = await get(request, FUNDS, limit=ORDERS)
    credit = [
        [_("Credit limit"), fmt.money(core["credit_limit"])],
        [_("Used by open payables"), fmt.money(core["used"])],
        [_("Available to confirm"), fmt.money(core["available"])],
        [_("Discount rate a year"), fmt.percent(core["discount_rate"])],
    ]
    balance = [
        [_("Available"), fmt.money(funds["available"])],
        [_("Top-ups pending at the bank"), fmt.money(funds["pending_in"])],
        [_("Withdrawals pending at the bank"), fmt.money(funds["pending_out"])],
    ]
    amount = [field("amount", _("Amount (CNY)"), required=True, maxlength=20)]
    payable = [
        field("supplier_id", _("Supplier's merchant id"), value=typed.get("supplier_id", "")[:64], required=True),
        field("face_amount", _("Face amount (CNY)"), value=typed.get("face_amount", "")[:20], required=True),
        field("maturity_date", _("Maturity date"), "date", typed.get("maturity_date", "")[:10], required=True),
        field("invoice_ref", _("Invoice reference"), value=typed.get("invoice_ref", "")[:64], required=True),
    ]
    return [
        section(_("Core enterprise credit"), [_("Item"), _("Value")], credit, id="core-credit"),
        section(
            _("Payables funds"),
            [_("Item"), _("Value")],
            balance,
            id="payables-funds",
            text=[
                _(
                    "Set aside from the settlement account to pay payables at maturity: a payment draws on them "
                    "first, then on the wallet. Withdraw what no payable needs."
                ),
                *([_(sent)] if sent else []),
            ],
            forms=[
                form("top-up", PAGE + "/payables-funds/top-ups", _("Top up from the settlement account"), amount),
                form("withdraw", PAGE + "/payables-funds/withdrawals", _("Withdraw to the settlement account"), amount),
            ],
        ),
        orders_section(request, _("Top-ups of the payables funds"), funds["top_ups"], "payables-fund-top-ups"),
        orders_section(
            request, _("Withdrawals of the payables funds"), funds["withdrawals"], "payables-fund-withdrawals"
        ),
        section(
            _("Confirm a payable"),
            text=[_("The supplier can then sell it to the platform at a discount before it matures.")],
            forms=[form("confirm", PAGE + "/payables", _("Confirm the payable"), payable)],
            id="confirm-payable",
        ),
    ]


def _list_section(
    request: Request,
    title: str,
    rows: list[dict],
    section_id: str,
    party: str,
    today: dt.date,
    names: Mapping[str, str],
) -> dict:
    """Receivables of one side (`party`: the other side's column, by name), soonest maturity first, each
    linking to its view; those this merchant can act on today are flagged."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    head = [_("Invoice"), _("Counterparty"), _("Face amount"), _("Maturity date"), _("Status"), _("Action")]

    def action(r: dict) -> str:
        if party == "supplier_id" and may_pay(r, today):
            return _("Due: pay")
        if party == "core_id" and may_finance(r, today):
            return _("May be financed")
        return ""

    cells = [
        [
            link(f"{PAGE}?receivable={r['id']}", r["invoice_ref"]),
            named(r[party], names),
            fmt.money(r["face_amount"]),
            fmt.day(r["maturity_date"]),
            _("status:" + r["status"]),
            action(r),
        ]
        for r in rows
    ]
    return section(title, head, cells, id=section_id, empty=_("None yet."))


def _receivable_section(request: Request, r: dict, today: dt.date, names: Mapping[str, str]) -> dict:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    facts: list[list[Any]] = [
        [_("Receivable"), r["id"]],
        [_("Invoice"), r["invoice_ref"]],
        [_("Core enterprise"), named(r["core_id"], names)],
        [_("Supplier"), named(r["supplier_id"], names)],
        [_("Face amount"), fmt.money(r["face_amount"])],
        [_("Maturity date"), fmt.day(r["maturity_date"])],
        [_("Status"), _("status:" + r["status"])],
    ]
    if r.get("financing"):
        f = r["financing"]
        facts += [
            [_("Financed on"), fmt.day(f["financed_on"])],
            [_("Discount"), _("%(amount)s for %(days)s days", amount=fmt.money(f["discount"]), days=f["days"])],
            [_("Advance paid to the supplier"), fmt.money(f["advance"])],
        ]
    if r.get("overdue_since"):
        facts.append([_("Overdue since"), fmt.day(r["overdue_since"])])
    forms = []
    me = _me(request)
    if r["core_id"] == me and may_pay(r, today):
        forms.append(form("pay", f"{PAGE}/receivables/{r['id']}/payment", _("Pay the face amount now"), []))
    if r["supplier_id"] == me and may_finance(r, today):
        forms.append(form("finance", f"{PAGE}/receivables/{r['id']}/financing", _("Sell it at a discount now"), []))
    return section(_("Receivable"), [_("Item"), _("Value")], facts, forms=forms, id="receivable")


SHORT = "The payables funds and the wallet together do not hold the face amount: top up the payables funds first."
"""A due payable the core cannot pay (the ledger's `insufficient_funds`, a code every transfer shares)."""


async def _refused(request: Request, problem: client.ApiProblem, receivable_id: str | None = None, **typed: str):
    if problem.status >= 500 or problem.status == 401:
        raise problem
    if problem.code == "insufficient_funds" and receivable_id:
        message = render.formatter(request).gettext(SHORT)
    else:
        message = render.say(request, problem.code, problem.detail, problem.status)
    return await _page(request, receivable_id, problem.status, message, typed=typed)


async def _funds_order(request: Request, path: str, sent: str) -> Response:
    values = await read_form(request)
    try:
        await post(request, FUNDS + path, {"amount": values.get("amount", "")}, values.get("key") or None)
    except client.ApiProblem as problem:
        return await _refused(request, problem)
    return RedirectResponse(f"{PAGE}?sent={sent}", status_code=303)


@router.post(PAGE + "/payables-funds/top-ups")
@staff_page(MERCHANT_ROLES)
async def top_up_payables_funds(request: Request) -> Response:
    return await _funds_order(request, "/top-ups", "top_up")


@router.post(PAGE + "/payables-funds/withdrawals")
@staff_page(MERCHANT_ROLES)
async def withdraw_payables_funds(request: Request) -> Response:
    return await _funds_order(request, "/withdrawals", "withdrawal")


@router.post(PAGE + "/payables")
@staff_page(MERCHANT_ROLES)
async def confirm_payable(request: Request) -> Response:
    values = await read_form(request)
    typed = {k: values.get(k, "") for k in ("supplier_id", "face_amount", "maturity_date", "invoice_ref")}
    try:
        made = await post(request, "/v1/supplychain/receivables", dict(typed), values.get("key") or None)
    except client.ApiProblem as problem:
        return await _refused(request, problem, **typed)
    return done(f"{PAGE}?receivable={made['id']}", "payable_confirmed")


@router.post(PAGE + "/receivables/{receivable_id}/payment")
@staff_page(MERCHANT_ROLES)
async def pay_receivable(request: Request, receivable_id: Ident) -> Response:
    return await _act(request, receivable_id, "payment", "receivable_paid")


@router.post(PAGE + "/receivables/{receivable_id}/financing")
@staff_page(MERCHANT_ROLES)
async def finance_receivable(request: Request, receivable_id: Ident) -> Response:
    return await _act(request, receivable_id, "financing", "receivable_financed")


async def _act(request: Request, receivable_id: str, action: str, notice: str) -> Response:
    values = await read_form(request)
    try:
        await post(request, f"/v1/supplychain/receivables/{receivable_id}/{action}", None, values.get("key") or None)
    except client.ApiProblem as problem:
        return await _refused(request, problem, receivable_id)
    return done(f"{PAGE}?receivable={receivable_id}", notice)
