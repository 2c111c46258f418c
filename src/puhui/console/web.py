"""What every console route shares: reading a posted form (CSRF checked), the signed-in customer
(else the log-in page), redirects after a post (303), a one-time notice, and turning an API problem
into the right page (401: log in again; 403/404: the error page)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from puhui.console import render, security
from puhui.console.client import ApiProblem

NOTICE_COOKIE = render.NOTICE_COOKIE
MAX_FORM_BYTES = 16_384
Handler = Callable[..., Awaitable[Response]]


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST, its CSRF token checked (403 `csrf_refused` otherwise)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiProblem(413, "form_too_large", "the form is too large")
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64))
    except (UnicodeDecodeError, ValueError):
        form = {}
    security.check_csrf(request, form)
    return {k: v.strip() if k != "password" else v for k, v in form.items()}


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    """303 See Other after a post (the browser then GETs the page), with an optional one-time notice."""
    response = RedirectResponse(url, status_code=303)
    if notice is not None:
        response.set_cookie(NOTICE_COOKIE, notice, max_age=60, httponly=True, samesite="lax", path="/app")
    return response


def to_login(request: Request, notice: str | None = None) -> RedirectResponse:
    """The log-in page, in the language a link asked for (`?lang=`), if it did; with `notice` (one of
    `render.NOTICES`) saying why, e.g. that the session ended."""
    asked = request.query_params.get("lang")
    response = redirect("/app/login" + (f"?{urlencode({'lang': asked})}" if asked else ""), notice)
    security.end_session(response, request)
    return response


def customer_page(handler: Handler) -> Handler:
    """A page for the signed-in customer: anyone else goes to the log-in page; an API problem left
    unhandled becomes the error page with its status (or the log-in page for a dead session)."""

    @functools.wraps(handler)
    async def wrapped(request: Request, *args: Any, **kwargs: Any) -> Response:
        viewer = security.viewer_of(request)
        if viewer is None:  # a session cookie no longer valid: it ended (expired, logged out elsewhere)
            return to_login(request, "session_ended" if request.cookies.get(security.SESSION_COOKIE) else None)
        request.state.viewer = viewer
        return await guarded(handler, request, *args, **kwargs)

    return wrapped


def public_page(handler: Handler) -> Handler:
    """A page anyone may open (log-in, sign-up): problems become the error page."""

    @functools.wraps(handler)
    async def wrapped(request: Request, *args: Any, **kwargs: Any) -> Response:
        return await guarded(handler, request, *args, **kwargs)

    return wrapped


async def guarded(handler: Handler, request: Request, *args: Any, **kwargs: Any) -> Response:
    try:
        response = await handler(request, *args, **kwargs)
    except security.CsrfRefused as refused:
        return render.error_page(request, 403, render.formatter(request).gettext(refused.title))
    except ApiProblem as problem:
        if problem.status == 401:
            return to_login(request, "session_ended")
        return render.error_page(
            request, problem.status, render.say(request, problem.code, problem.detail, problem.status)
        )
    if request.cookies.get(NOTICE_COOKIE) and response.status_code < 300:
        response.delete_cookie(NOTICE_COOKIE, path="/app")
    return response


PAGE_PREFIXES = ("/app", "/merchant", "/ops", "/supervision", "/staff")
"""Where the console's pages live: a link there that fails validation gets a page, not a JSON problem."""


def is_page(request: Request) -> bool:
    path = request.url.path
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PREFIXES)


def invalid_link_page(request: Request) -> Response:
    """A page's link with a missing or malformed parameter (a bookmark cut short, a hand-edited address)."""
    detail = render.formatter(request).gettext("This link is incomplete or has a wrong value. Go back and try again.")
    return render.error_page(request, 422, detail)
