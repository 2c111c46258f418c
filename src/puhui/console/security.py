"""Console sessions and CSRF protection (会话与跨站请求伪造防护).

The session cookie holds the platform's own session token (the JWT `POST /v1/customers/login`
issues), HttpOnly, SameSite=Lax, Secure over https, expiring with the token; log-out ends the session
row through the API, so a copied cookie dies with it. Every POST form carries a CSRF token that must
equal the `puhui_csrf` cookie (double submit): a page on another site can neither read the cookie nor
set it, so it cannot forge the form.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from puhui import clock
from puhui.errors import PuhuiError
from puhui.identity import auth

SESSION_COOKIE = "puhui_session"
CSRF_COOKIE = "puhui_csrf"
CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE = 12 * 3600


class CsrfRefused(PuhuiError):
    """A form posted without the page's CSRF token (跨站请求伪造)."""

    code = "csrf_refused"
    status = 403
    title = "The form's security token is missing or wrong; reload the page and try again"


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the page: the customer of a valid session token (the API checks it is live)."""

    id: str
    role: str
    token: str


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in customer by the session cookie's token (signature and expiry checked here)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or not auth.looks_like_jwt(token):
        return None
    try:
        claims = auth.read_session(request.app.state.settings.jwt_secret, token)
    except PuhuiError:  # expired (token_expired) or a secret not configured: not signed in
        return None
    return Viewer(claims.subject, claims.role, token) if claims is not None else None


def start_session(response: Response, request: Request, token: str, expires_at: str) -> None:
    """Put the platform's session token in the session cookie until the token expires."""
    until = dt.datetime.fromisoformat(expires_at)
    seconds = max(0, int((until - clock.now()).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE, token, max_age=seconds, httponly=True, samesite="lax", secure=is_https(request), path="/"
    )


def end_session(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the cookie's, or a new one that `keep_csrf` sets on the answer."""
    found = getattr(request.state, "csrf_token", None) or request.cookies.get(CSRF_COOKIE)
    if not found or len(found) < 32:
        found = secrets.token_urlsafe(32)
        request.state.csrf_new = True
    request.state.csrf_token = found
    return found


def keep_csrf(response: Response, request: Request) -> None:
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_token,
            max_age=CSRF_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=is_https(request),
            path="/",
        )


def check_csrf(request: Request, form: dict[str, str]) -> None:
    """Refuse (403) a form whose token is absent or differs from the cookie's."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRefused()


def form_key() -> str:
    """A fresh Idempotency-Key for one rendering of a form: submitting it twice does the thing once."""
    return secrets.token_urlsafe(18)
