"""Staff and merchant sessions of the console (员工与商户登录): they sign in with the token the API gives
them (a staff token `puhui_st_…`, a merchant API key `puhui_mk_…`, or the operator's admin token),
checked exactly as the API checks a bearer token (revoked tokens die at once). The token is kept in an
HttpOnly, SameSite=Strict cookie and sent as `Authorization: Bearer` on every in-process API call, so
the pages have the API's roles and masking and no rules of their own."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from puhui.api import deps
from puhui.console import client, i18n, names, render, security
from puhui.console.web import Handler, read_form
from puhui.errors import PuhuiError

router = APIRouter(include_in_schema=False)
STAFF_COOKIE = "puhui_staff"
STAFF_MAX_AGE = 8 * 3600
NOTICE_COOKIE = "puhui_staff_notice"
OPS_ROLES = ("operator", "risk_officer", "admin")
SUPERVISION_ROLES = ("regulator", "risk_officer", "admin")  # the risk officers work the cases (反洗钱岗)
MERCHANT_ROLES = ("merchant",)
HOMES = {"merchant": "/merchant", "regulator": "/supervision"}
# The staff menu of each part of the console (href, label); a role sees the links `may_open` lets it open.
MENUS: dict[str, tuple[tuple[str, str], ...]] = {
    "merchant": (
        ("/merchant", "Overview"),
        ("/merchant/qr", "QR codes"),
        ("/merchant/refunds", "Refunds"),
        ("/merchant/settlements", "Settlements"),
        ("/merchant/supply-chain", "Supply-chain finance"),
        ("/merchant/return-shipping", "Return shipping"),
        ("/merchant/keys", "API keys"),
        ("/merchant/notifications", "Notifications"),
    ),
    "supervision": (
        ("/supervision", "Dashboard"),
        ("/supervision/alerts", "Alerts"),
        ("/supervision/cases", "Cases"),
        ("/supervision/reports", "Reports"),
        ("/supervision/graph", "Flow graph"),
    ),
    "ops": (
        ("/ops", "Overview"),
        ("/ops/customers", "Customers"),
        ("/ops/verification", "Real-name verification"),
        ("/ops/merchants", "Merchants"),
        ("/ops/reviews", "Review queue"),
        ("/ops/claims", "Claims review"),
        ("/ops/settlements", "Settlements"),
        ("/ops/eod", "End of day"),
        ("/ops/reserve", "Reserve"),
        ("/ops/loans", "Loan book"),
        ("/ops/funds", "Funds"),
        ("/ops/ledger", "Ledger"),
        ("/ops/audit", "Audit log"),
        ("/ops/models", "Models"),
        ("/supervision/cases", "Cases"),
        ("/supervision/reports", "Reports"),
    ),
}
PREFIXES = ("/merchant", "/ops", "/supervision", "/staff")
DONE = {
    "refunded": "Refund made.",
    "qr_made": "QR code created.",
    "qr_cancelled": "QR code cancelled: its order reference is free for a new code.",
    "payable_confirmed": "The payable was confirmed: the supplier can now sell it at a discount.",
    "receivable_paid": "Paid: the face amount went to whoever holds the receivable.",
    "receivable_financed": "Sold: the advance was paid into the wallet.",
    "return_confirmed": "Return confirmed: the claim was paid to the buyer's wallet.",
    "return_already_claimed": "This return was already confirmed and its claim paid: nothing more was paid.",
    "key_issued": "A new API key was issued: copy it now, it is shown only once.",
    "key_revoked": "The API key was revoked.",
    "approved": "Approved: the held payment was made.",
    "rejected": "Rejected: the hold was released.",
    "navs_loaded": "The NAV file was loaded.",
    "figures_loaded": "The income file was loaded.",
    "case_moved": "The case moved on.",
    "report_submitted": "The report is marked submitted.",
    "language": "Language changed.",
    "check_recorded": "The identity check was recorded.",
    "class_raised": "The account class was raised.",
}
"""One-time notices after a form, by a fixed key in a cookie (nothing else is shown from it)."""


@dataclass(frozen=True)
class StaffViewer:
    """Who is signed in to a staff or merchant page: id and role as the API resolves the token."""

    id: str
    role: str
    token: str


class StaffRoleRefused(PuhuiError):
    """A signed-in role opening a part of the console that is not for it (403)."""

    code = "staff_role_refused"
    status = 403


def resolve(request: Request, token: str) -> StaffViewer | None:
    """The principal of a token, by the API's own authentication (None when it is not valid)."""
    if not token or len(token) > 256:
        return None
    try:
        found = deps.authenticate_blocking(request, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token))
    except PuhuiError:
        return None
    if found.role == "customer" or found.role == "partner":
        return None
    return StaffViewer(found.id, found.role, token)


def staff_of(request: Request) -> StaffViewer | None:
    return resolve(request, request.cookies.get(STAFF_COOKIE, ""))


def home_of(role: str) -> str:
    return HOMES.get(role, "/ops")


def may_open(role: str, roles: Iterable[str] | None) -> bool:
    """Whether `role` may open a page whose `staff_page` admits `roles` (None: not a staff page): the one
    check a page makes and the menu shows its links by."""
    return roles is not None and role in roles


def page_roles(app: Any) -> dict[str, frozenset[str]]:
    """The roles each GET staff page admits, by its route's path, from its `staff_page` (read once per app)."""
    found: dict[str, frozenset[str]] | None = getattr(app.state, "staff_page_roles", None)
    if found is None:
        found = dict(_staff_pages(app.router.routes, ""))
        app.state.staff_page_roles = found
    return found


def _staff_pages(routes: Iterable[Any], prefix: str) -> Iterable[tuple[str, frozenset[str]]]:
    """(path, roles) of the GET routes of `staff_page`s, into included routers (kept nested by FastAPI)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            included = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            yield from _staff_pages(inner.routes, prefix + included)
            continue
        roles = getattr(getattr(route, "endpoint", None), "staff_roles", None)
        if roles is not None and "GET" in (getattr(route, "methods", None) or ()):
            yield prefix + route.path, roles


def menu(request: Request, viewer: StaffViewer | None) -> list[tuple[str, str]]:
    """The menu links (href, label) of the part of the console the viewer is in that the viewer may open."""
    if viewer is None:
        return []
    path = request.url.path
    if viewer.role == "merchant":
        part = "merchant"
    elif viewer.role == "regulator" or path.startswith("/supervision"):
        part = "supervision"
    else:
        part = "ops"
    roles = page_roles(request.app)
    return [(href, label) for href, label in MENUS[part] if may_open(viewer.role, roles.get(href))]


def staff_page(roles: Iterable[str]) -> Any:
    """A page for the signed-in staff (or merchant) of `roles` (as `may_open` reads them): a visitor is sent
    to sign in, a signed-in customer or another role is refused (403); API problems become the error page
    with their status. The roles are kept on the page (`staff_roles`) for the menu."""
    allowed = frozenset(roles)

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: Request, *args: Any, **kwargs: Any) -> Response:
            viewer = staff_of(request)
            if viewer is None and security.viewer_of(request) is not None:
                return error(request, 403)  # a signed-in customer: staff pages are not theirs
            if viewer is None:
                return RedirectResponse("/staff/login", status_code=303)
            request.state.staff = viewer
            request.state.staff_name = await names.viewer_name(request, viewer.id, viewer.role)
            if not may_open(viewer.role, allowed):
                return error(request, 403)
            try:
                return await handler(request, *args, **kwargs)
            except security.CsrfRefused as refused:
                return error(request, 403, render.formatter(request).gettext(refused.title))
            except client.ApiProblem as problem:
                if problem.status == 401:
                    return RedirectResponse("/staff/login", status_code=303)
                return error(request, problem.status, render.say(request, problem.code, problem.detail, problem.status))

        wrapped.staff_roles = allowed  # type: ignore[attr-defined]
        return wrapped

    return decorate


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """A staff page: the shared renderer, with the staff viewer and the one-time notice. `done_said`: a page's
    own words for notices of its forms, by key (e.g. with the amount the form paid), told instead of `DONE`'s."""
    key = request.cookies.get(NOTICE_COOKIE, "")
    done = DONE.get(key)
    said = values.pop("done_said", None) or {}
    if done is not None:
        done = said.get(key, done)
    viewer = getattr(request.state, "staff", None)
    response = render.page(
        request,
        template,
        status=status,
        staff=viewer,
        staff_name=getattr(request.state, "staff_name", None),
        staff_menu=menu(request, viewer),
        done=done,
        **values,
    )
    if done is not None:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def error(request: Request, status: int, detail: str = "") -> HTMLResponse:
    title = render.ERROR_TITLES.get(status, "Error")
    viewer = getattr(request.state, "staff", None)
    back = None if viewer is None else back_of(request, viewer)
    return page(request, "staff_error.html", status=status, status_code=status, title=title, detail=detail, back=back)


def back_of(request: Request, viewer: StaffViewer) -> tuple[str, str]:
    """Where a signed-in staff member's error page leads (href, menu label): the page of their section the
    request was made under (`/ops/claims` after a refused decline at `/ops/claims/{id}/decline`), else their
    home; a visitor's leads to the log-in page (no `back`)."""
    links = menu(request, viewer)
    path = request.url.path
    under = [(href, label) for href, label in links if path == href or path.startswith(href + "/")]
    if under:
        return max(under, key=lambda link: len(link[0]))
    home = home_of(viewer.role)
    return next((link for link in links if link[0] == home), (home, "Overview"))


def done(url: str, notice: str) -> RedirectResponse:
    """303 to the page after a form, with its one-time notice in a short-lived cookie."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(NOTICE_COOKIE, notice, max_age=60, httponly=True, samesite="strict", path="/")
    return response


async def get(request: Request, path: str, **params: object) -> Any:
    """GET one API resource with the signed-in staff's token (None-valued parameters left out)."""
    kept = {k: v for k, v in params.items() if v is not None and v != ""}
    return await client.call(request, "GET", path, token=request.state.staff.token, params=kept or None)


async def post(request: Request, path: str, body: dict | None, key: str | None) -> Any:
    return await client.call(request, "POST", path, token=request.state.staff.token, json=body, key=key)


async def download(request: Request, path: str) -> httpx.Response:
    """A file of the API (a report's CSV or JSON) with the staff token; problems raised as ApiProblem."""
    transport = httpx.ASGITransport(app=request.app, client=(request.client.host if request.client else "127.0.0.1", 0))
    headers = {"Authorization": f"Bearer {request.state.staff.token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://console.internal") as api:
        answer = await api.get(path, headers=headers)
    if answer.status_code >= 400:
        body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
        raise client.ApiProblem(answer.status_code, str(body.get("code", "error")), str(body.get("detail", "")))
    return answer


@router.get("/staff/login")
async def login_page(request: Request) -> Response:
    return page(request, "staff_login.html", error=None)


@router.post("/staff/login")
async def login(request: Request) -> Response:
    """Sign in with a token: kept in the staff cookie when the API accepts it for a staff or merchant role."""
    try:
        form = await read_form(request)
    except security.CsrfRefused as refused:
        return error(request, 403, render.formatter(request).gettext(refused.title))
    viewer = resolve(request, form.get("token", ""))
    if viewer is None:
        message = render.formatter(request).gettext("This token is not a valid staff token or merchant API key.")
        return page(request, "staff_login.html", status=401, error=message)
    response = RedirectResponse(home_of(viewer.role), status_code=303)
    response.set_cookie(
        STAFF_COOKIE,
        viewer.token,
        max_age=STAFF_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=security.is_https(request),
        path="/",
    )
    return response


@router.post("/staff/logout")
async def logout(request: Request) -> Response:
    try:
        await read_form(request)
    except security.CsrfRefused as refused:
        return error(request, 403, render.formatter(request).gettext(refused.title))
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/", httponly=True, samesite="strict", secure=security.is_https(request))
    return response


@router.post("/staff/language")
async def language(request: Request) -> Response:
    """The language switch of the staff pages: remembered in the same cookie as the customer app's."""
    try:
        form = await read_form(request)
    except security.CsrfRefused as refused:
        return error(request, 403, render.formatter(request).gettext(refused.title))
    back = form.get("next", "/staff/login")
    if not back.startswith(PREFIXES) or back.startswith("//"):
        back = "/staff/login"
    response = done(back, "language")
    chosen = form.get("lang", "")
    if chosen in i18n.LOCALES:
        response.set_cookie(
            i18n.COOKIE, chosen, max_age=365 * 86400, samesite="lax", secure=security.is_https(request), path="/"
        )
    return response


# -- what the generic staff page (staff_sections.html) shows -----------------------------------------


def section(title: str, head: list[str] | None = None, rows: list[list[Any]] | None = None, **more: Any) -> dict:
    """One card of a staff page: a title, optionally a chart, a table (cells escaped unless Markup) and forms."""
    return {"title": title, "head": head, "rows": rows or [], **more}


def field(name: str, label: str, kind: str = "text", value: str = "", **more: Any) -> dict:
    return {"name": name, "label": label, "type": kind, "value": value, **more}


def form(form_id: str, action: str, button: str, fields: list[dict], method: str = "post") -> dict:
    """A form with its own id (for its labels) and a fresh idempotency key: sent twice, done once."""
    return {
        "id": form_id,
        "action": action,
        "button": button,
        "fields": fields,
        "method": method,
        "key": security.form_key(),
    }


def link(href: str, text: str, download: bool = False) -> Any:
    """A link cell; `download` makes it save the file instead of opening a page."""
    from markupsafe import Markup, escape

    saving = " download" if download else ""
    return Markup(f'<a href="{escape(href)}"{saving}>{escape(text)}</a>')


def sections_page(request: Request, heading: str, sections: list[dict], status: int = 200, **more: Any) -> HTMLResponse:
    return page(request, "staff_sections.html", status=status, heading=heading, sections=sections, **more)
