"""The merchant portal's return-shipping insurance (退货运费险, /merchant/return-shipping), all through the API
with the merchant's own key. A merchant whose buyers bought cover at checkout sees its covered orders, newest
first, a page at a time: the policy, the order's reference (商户订单号), the buyer by name masked as the platform
masks it (`console.names`: `*三丰`), the premium, the fixed claim, the status with the last day of cover (to
24:00 China time) and when the claim was paid. On a covered order's own view (`?policy=`) it confirms the
return (确认退货) while the cover runs: the claim goes from the insurer's held premiums to the buyer's wallet at
once, once. The API's rules are the page's: another merchant's order is not found, a second confirmation pays
nothing more, one after the cover's term is refused (409 `return_cover_expired`), told with the day it ended."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from puhui.console import client, render
from puhui.console.names import named, names_of
from puhui.console.staff import MERCHANT_ROLES, done, field, form, get, link, post, section, sections_page, staff_page
from puhui.console.web import read_form

router = APIRouter(include_in_schema=False)
PAGE = "/merchant/return-shipping"
API = "/v1/insurance/return-shipping"
MINE = API + "/merchants/me/policies"
PER_PAGE = 20
POLICY_ID = r"^[A-Za-z0-9_:\-][A-Za-z0-9._:\-]{0,63}$"  # an id, never a "." or ".." path segment
PolicyQuery = Annotated[str | None, Query(max_length=64, pattern=POLICY_ID)]
PolicyPath = Annotated[str, Path(min_length=1, max_length=64, pattern=POLICY_ID)]
OffsetQuery = Annotated[int | None, Query(ge=0, le=1_000_000)]

EXPIRED = "The cover ended at 24:00 China time on %(day)s: the return can no longer be confirmed."
"""The cover's term is over (the API's `return_cover_expired`, or a policy that reads `expired`), with its last day."""
INSURER_SHORT = (
    "The insurer's money held by the platform cannot pay this claim just now: nothing was paid. "
    "Please try again later or tell the platform."
)
"""The claim cannot be paid from the insurer's held premiums (the ledger's `insufficient_funds`, which every
transfer shares: not the merchant's wallet, which a claim never touches)."""


def last_covered_day(policy: Mapping[str, Any]) -> dt.date:
    """The last day of cover (to 24:00 China time): the day before the API's exclusive `cover_end`."""
    return dt.date.fromisoformat(policy["cover_end"]) - dt.timedelta(days=1)


@router.get(PAGE)
@staff_page(MERCHANT_ROLES)
async def return_shipping(request: Request, policy: PolicyQuery = None, offset: OffsetQuery = None) -> Response:
    return await _page(request, policy, offset or 0)


async def _page(
    request: Request, policy_id: str | None = None, offset: int = 0, status: int = 200, error: str | None = None
) -> Response:
    _ = render.formatter(request).gettext
    shown = await get(request, f"{MINE}/{policy_id}") if policy_id else None
    listed = await get(request, MINE, limit=PER_PAGE, offset=offset)
    covers = listed["policies"]
    names = await names_of(request, [c["policy"]["customer_id"] for c in (*covers, *([shown] if shown else []))])
    sections = [_cover_section(request, shown, names, error)] if shown is not None else []
    sections.append(_list_section(request, covers, names, offset, listed["next_offset"]))
    return sections_page(
        request,
        _("Return-shipping insurance"),
        sections,
        status=status,
        error=error,
        done_said=_said(request, shown),
    )


def _said(request: Request, shown: dict | None) -> dict[str, str]:
    """The notices after a confirmation, told with the amount the buyer was paid (the shown policy's claim)."""
    if shown is None or shown["claim"] is None:
        return {}
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    claim = shown["claim"]
    amount, when = fmt.money(claim["amount"]), fmt.moment(claim["created_at"])
    return {
        "return_confirmed": _("Return confirmed: %(amount)s was paid to the buyer's wallet.", amount=amount),
        "return_already_claimed": _(
            "This return was already confirmed: %(amount)s was paid to the buyer's wallet on %(time)s, "
            "and nothing more was paid.",
            amount=amount,
            time=when,
        ),
    }


def _status(request: Request, policy: Mapping[str, Any]) -> str:
    return render.formatter(request).gettext("return_cover:" + policy["status"])


def _until(request: Request, policy: Mapping[str, Any]) -> str:
    fmt = render.formatter(request)
    return fmt.gettext("%(day)s 24:00", day=fmt.day(last_covered_day(policy)))


def _list_section(
    request: Request, covers: list[dict], names: Mapping[str, str], offset: int, next_offset: int | None
) -> dict:
    """The covered orders of this page, newest first, each linking to its view; those still covered say so."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    head = [
        _("Policy"),
        _("Order reference"),
        _("Buyer"),
        _("Premium"),
        _("Claim amount"),
        _("Status"),
        _("Covered until (China time)"),
        _("Claim paid on"),
        _("Action"),
    ]
    rows = []
    for cover in covers:
        p, claim = cover["policy"], cover["claim"]
        view = f"{PAGE}?policy={p['id']}"
        rows.append(
            [
                link(view, p["id"]),
                cover["order_ref"] or "—",
                named(p["customer_id"], names),
                fmt.money(p["premium"]),
                fmt.money(p["claim_amount"]),
                _status(request, p),
                _until(request, p),
                fmt.moment(claim["created_at"]) if claim else "—",
                link(view, _("Confirm the return")) if p["status"] == "active" else "",
            ]
        )
    forms = []
    if next_offset is not None:
        forms.append(form("older", PAGE, _("Older"), [field("offset", "", "hidden", str(next_offset))], "get"))
    if offset > 0:
        forms.append(form("newest", PAGE, _("Newest"), [], "get"))
    return section(
        _("Covered orders"),
        head,
        rows,
        id="covered-orders",
        empty=_("No buyer has bought return-shipping cover with an order yet."),
        text=[
            _(
                "Orders whose buyers bought return-shipping cover at checkout. When the goods come back within "
                "the cover's term, confirm the return: the insurer's fixed claim is paid to the buyer's wallet at "
                "once, not from yours."
            )
        ],
        forms=forms,
    )


def _cover_section(request: Request, cover: dict, names: Mapping[str, str], error: str | None = None) -> dict:
    """A covered order's facts, with the form to confirm its return while it is covered (`error`: the page's
    refusal, not told twice)."""
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    p, claim = cover["policy"], cover["claim"]
    facts: list[list[Any]] = [
        [_("Policy"), p["id"]],
        [_("Order reference"), cover["order_ref"] or "—"],
        [_("Payment number"), p["payment_id"]],
        [_("Buyer"), named(p["customer_id"], names)],
        [_("Order amount"), fmt.money(p["order_amount"])],
        [_("Premium"), fmt.money(p["premium"])],
        [_("Claim amount"), fmt.money(p["claim_amount"])],
        [_("Status"), _status(request, p)],
        [_("Covered until (China time)"), _until(request, p)],
    ]
    text, forms = [], []
    if claim is not None:
        facts.append([_("Claim paid on"), fmt.moment(claim["created_at"])])
        amount, when = fmt.money(claim["amount"]), fmt.moment(claim["created_at"])
        text.append(_("%(amount)s was paid to the buyer's wallet on %(time)s.", amount=amount, time=when))
    elif p["status"] == "expired" and (ended := _(EXPIRED, day=fmt.day(last_covered_day(p)))) != error:
        text.append(ended)
    elif p["status"] == "active":
        amount = fmt.money(p["claim_amount"])
        text.append(
            _(
                "Confirm only once the goods have come back to you: %(amount)s is then paid to the buyer's wallet "
                "at once, and a confirmation cannot be undone.",
                amount=amount,
            )
        )
        action = f"{PAGE}/policies/{p['id']}/return"
        forms.append(
            form("confirm-return", action, _("Confirm the return: pay the buyer %(amount)s", amount=amount), [])
        )
    return section(_("Covered order"), [_("Item"), _("Value")], facts, text=text, forms=forms, id="covered-order")


async def _refused(request: Request, problem: client.ApiProblem, policy_id: str) -> Response:
    if problem.status >= 500 or problem.status == 401:
        raise problem
    fmt = render.formatter(request)
    cover_end = problem.extra.get("cover_end") if problem.code == "return_cover_expired" else None
    if cover_end:
        message = fmt.gettext(EXPIRED, day=fmt.day(last_covered_day({"cover_end": cover_end})))
    elif problem.code == "insufficient_funds":
        message = fmt.gettext(INSURER_SHORT)
    else:
        message = render.say(request, problem.code, problem.detail, problem.status)
    return await _page(request, None if problem.status == 404 else policy_id, status=problem.status, error=message)


@router.post(PAGE + "/policies/{policy_id}/return")
@staff_page(MERCHANT_ROLES)
async def confirm_return(request: Request, policy_id: PolicyPath) -> Response:
    """Confirm the return (确认退货) with the form's key as the API's Idempotency-Key: sent twice, paid once. A
    policy already claimed is told so (the API would answer its claim again, paying nothing)."""
    values = await read_form(request)
    try:
        before = await get(request, f"{MINE}/{policy_id}")
        if before["policy"]["status"] == "claimed":
            return done(f"{PAGE}?policy={policy_id}", "return_already_claimed")
        await post(request, f"{API}/policies/{policy_id}/return", None, values.get("key") or None)
    except client.ApiProblem as problem:
        return await _refused(request, problem, policy_id)
    return done(f"{PAGE}?policy={policy_id}", "return_confirmed")
