"""Dependencies injected into routers: the engine, settings and the authenticated principal.

One `Authorization: Bearer <token>` header, four kinds of token:
- `PUHUI_ADMIN_TOKEN` (the operator's bootstrap token)      -> Principal("admin", "admin")
- a customer session token (JWT from POST /v1/customers/login) -> Principal(<customer id>, "customer")
- a merchant or partner API key (`puhui_mk_…`, `puhui_pk_…`)   -> Principal(<merchant/partner id>, role)
- a staff token (`puhui_st_…`)                                 -> Principal(<staff id>, <staff role>)
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from puhui.db import reading
from puhui.errors import Forbidden, Unauthorized
from puhui.identity import auth, org, sessions
from puhui.identity.models import STAFF_ROLES
from puhui.settings import Settings

bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a customer, a merchant, a partner or a staff member (by role)."""

    id: str
    role: str
    session_id: str | None = None  # a customer's log-in session (the token's `jti`)
    suspended: bool = False  # a suspended merchant: its key may read, not change anything

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


ANONYMOUS = Principal(id="anonymous", role="anonymous")
# The largest integer a JSON reader holds exactly (2**53 - 1): a client, or a fuzzer, comparing in floating
# point agrees with the server about every integer either side of it. Inside BIGINT: a larger cursor is a 422.
MAX_JSON_INT = 2**53 - 1
MAX_CURSOR = MAX_JSON_INT


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send Authorization: Bearer <token>")
    token = credentials.credentials
    settings: Settings = request.app.state.settings
    admin_token = settings.admin_token
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        principal: Principal | None = Principal(id="admin", role="admin")
    else:
        principal = _resolve(request.app.state.engine, settings, token)
    if principal is None:
        raise Unauthorized("the token is not valid")
    request.state.principal = principal  # for auditing a refusal that comes later
    if principal.suspended and request.method not in ("GET", "HEAD"):
        raise org.MerchantSuspended(f"merchant {principal.id} is suspended: its API key may read but not act")
    return principal


def _resolve(engine: Engine, settings: Settings, token: str) -> Principal | None:
    if auth.looks_like_credential(token):
        with reading(engine) as connection:
            found = auth.read_credential(connection, token)
            suspended = (
                found is not None and found[1] == "merchant" and not org.merchant_is_active(connection, found[0])
            )
        if found is None:
            return None
        return Principal(found[0], found[1], suspended=suspended)
    if auth.looks_like_jwt(token):
        claims = auth.read_session(settings.jwt_secret, token)  # TokenExpired (401) once past exp
        if claims is None:
            return None
        with reading(engine) as connection:
            live = sessions.is_live(connection, claims)
        return Principal(claims.subject, claims.role, claims.session_id) if live else None
    return None


def optional_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    """The caller, or `ANONYMOUS` when no credentials are sent (a bad token is still a 401)."""
    if credentials is None:
        return ANONYMOUS
    return authenticate(request, credentials)


def require_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting only callers whose role is one of `roles` (401 without credentials)."""
    allowed = frozenset(str(r) for r in roles)

    def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"this call is for {', '.join(sorted(allowed))}")
        return principal

    return dependency


def require_staff(principal: Principal = Depends(authenticate)) -> Principal:
    if not principal.is_staff:
        raise Forbidden("this call is for staff")
    return principal


def require_admin(principal: Principal = Depends(authenticate)) -> Principal:
    if principal.role != "admin":
        raise Forbidden("the ledger API is for administrators")
    return principal


# -- the aliases routers declare their parameters with (one definition each) ---------------------

EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Caller = Annotated[Principal, Depends(authenticate)]  # anyone authenticated
Customer = Annotated[Principal, Depends(require_roles("customer"))]
Merchant = Annotated[Principal, Depends(require_roles("merchant"))]
Operator = Annotated[Principal, Depends(require_roles("operator", "admin"))]
Officer = Annotated[Principal, Depends(require_roles("risk_officer", "admin"))]  # 风控 officer
Staff = Annotated[Principal, Depends(require_staff)]  # any staff role, the regulator included
Admin = Annotated[Principal, Depends(require_admin)]
