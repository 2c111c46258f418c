"""Dependencies injected into routers: the engine, settings and the authenticated principal.

One `Authorization: Bearer <token>` header, four kinds of token:
- `PUHUI_ADMIN_TOKEN` (the operator's bootstrap token)      -> Principal("admin", "admin")
- a customer session token (JWT from POST /v1/customers/login) -> Principal(<customer id>, "customer")
- a merchant or partner API key (`puhui_mk_…`, `puhui_pk_…`)   -> Principal(<merchant/partner id>, role)
- a staff token (`puhui_st_…`)                                 -> Principal(<staff id>, <staff role>)
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from puhui.db import reading
from puhui.db.prepared import Read
from puhui.errors import Forbidden, Unauthorized
from puhui.identity import auth, org, sessions
from puhui.identity.models import STAFF_ROLES, Role
from puhui.settings import Settings


@dataclass(frozen=True)
class Principal:
    """Who is calling: a customer, a merchant, a partner or a staff member (by role)."""

    id: str
    role: str
    session_id: str | None = None  # a customer's log-in session (the token's `jti`)
    suspended: bool = False  # a suspended merchant: its key may read, not change anything
    # True when the session is still to be checked, in the transaction of the call itself
    # (`session_checked_in_call`): a payment's group commit checks it in its own batch.
    session_unchecked: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


ANONYMOUS = Principal(id="anonymous", role="anonymous")
# The largest integer a JSON reader holds exactly (2**53 - 1): a client, or a fuzzer, comparing in floating
# point agrees with the server about every integer either side of it. Inside BIGINT: a larger cursor is a 422.
MAX_JSON_INT = 2**53 - 1
MAX_CURSOR = MAX_JSON_INT


# The dependencies are coroutines: FastAPI runs a plain function in a worker thread, a hop that cost a
# payment more than the work of the function itself. Only a database read leaves the event loop.


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


class BearerCaller(HTTPBearer):
    """The bearer scheme and the caller its token names, as one dependency (documented as `HTTPBearer`).
    FastAPI solves each dependency of a call apart (its path, query, header and cookie parameters read
    each time): about 40 µs on the 2-core machine. Authenticating as a dependency of the scheme's
    dependency made two of them, and a role check on top three; one suffices."""

    def __init__(self, admit: Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Principal]]) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer")
        self.admit = admit

    # Not the scheme's answer (the credentials) but the caller's: FastAPI only calls it with the request.
    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        return await self.admit(request, await HTTPBearer.__call__(self, request))


async def _any_caller(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    return await _authenticate(request, credentials, check_session=True)


authenticate = BearerCaller(_any_caller)


async def _authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None, *, check_session: bool
) -> Principal:
    token, settings = _token(request, credentials)
    principal = _admin(settings, token)
    if principal is None:
        principal = await _resolve(request.app.state.engine, settings, token, check_session)
    return _admit(request, principal)


def authenticate_blocking(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """`authenticate` for a caller already off the event loop, or one that may block it (the console)."""
    token, settings = _token(request, credentials)
    principal = _admin(settings, token) or _resolve_blocking(request.app.state.engine, settings, token)
    return _admit(request, principal)


def _token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> tuple[str, Settings]:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send Authorization: Bearer <token>")
    return credentials.credentials, request.app.state.settings


def _admin(settings: Settings, token: str) -> Principal | None:
    admin_token = settings.admin_token
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal(id="admin", role="admin")
    return None


def _admit(request: Request, principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("the token is not valid")
    request.state.principal = principal  # for auditing a refusal that comes later
    if principal.suspended and request.method not in ("GET", "HEAD"):
        raise org.MerchantSuspended(f"merchant {principal.id} is suspended: its API key may read but not act")
    return principal


async def _resolve(engine: Engine, settings: Settings, token: str, check_session: bool) -> Principal | None:
    if not check_session and auth.looks_like_jwt(token):  # the session is read by the call itself
        claims = auth.read_session(settings.jwt_secret, token)  # TokenExpired (401) once past exp
        if claims is None:
            return None
        return Principal(claims.subject, claims.role, claims.session_id, session_unchecked=True)
    return await run_in_threadpool(_resolve_blocking, engine, settings, token)


def _resolve_blocking(engine: Engine, settings: Settings, token: str) -> Principal | None:
    if auth.looks_like_credential(token):
        return _resolve_credential(engine, token)
    if auth.looks_like_jwt(token):
        claims = auth.read_session(settings.jwt_secret, token)  # TokenExpired (401) once past exp
        if claims is None:
            return None
        return Principal(claims.subject, claims.role, claims.session_id) if _session_is_live(engine, claims) else None
    return None


def _resolve_credential(engine: Engine, token: str) -> Principal | None:
    with reading(engine) as connection:
        found = auth.read_credential(connection, token)
        suspended = found is not None and found[1] == "merchant" and not org.merchant_is_active(connection, found[0])
    if found is None:
        return None
    return Principal(found[0], found[1], suspended=suspended)


def _session_is_live(engine: Engine, claims: auth.SessionClaims) -> bool:
    with reading(engine) as connection:
        return sessions.is_live(connection, claims)


def check_session(connection: Connection, principal: Principal) -> None:
    """For a call whose session was left to its own transaction: a 401 unless the session is open
    and its customer active, read in that transaction (so a log-out committed before it counts)."""
    if not principal.session_unchecked:
        return
    if not sessions.is_live(connection, _claims(principal)):
        raise Unauthorized("the token is not valid")


def session_read(principal: Principal) -> Read:
    """The read `check_session` makes, to be read ahead (`puhui.db.prepared.read_ahead`)."""
    return sessions.live_read(_claims(principal))


def _claims(principal: Principal) -> auth.SessionClaims:
    return auth.SessionClaims(principal.id, principal.role, principal.session_id or "")


async def _caller_or_anonymous(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None:
        return ANONYMOUS
    return await _authenticate(request, credentials, check_session=True)


# The caller, or `ANONYMOUS` when no credentials are sent (a bad token is still a 401).
optional_principal = BearerCaller(_caller_or_anonymous)


async def _customer_session_in_call(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    principal = await _authenticate(request, credentials, check_session=False)
    if principal.role != "customer":
        raise Forbidden("this call is for customers")
    return principal


# A customer whose token is verified here and whose session is checked by the call's own transaction
# (`check_session`, run by `run_mutation`): a payment in a group commit reads it in its batch instead of
# in a read transaction of its own before it.
session_checked_in_call = BearerCaller(_customer_session_in_call)


def _admitting(allowed: Callable[[Principal], bool], refusal: str) -> BearerCaller:
    async def admit(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
        principal = await _authenticate(request, credentials, check_session=True)
        if not allowed(principal):
            raise Forbidden(refusal)
        return principal

    return BearerCaller(admit)


def require_roles(*roles: str) -> BearerCaller:
    """A dependency admitting only callers whose role is one of `roles` (401 without credentials). A name that is
    no role (`Role`) is refused where the route is declared, not left to refuse no one."""
    allowed = frozenset(str(r) for r in roles)
    unknown = allowed - set(Role)
    if unknown or not allowed:
        raise ValueError(f"not roles: {sorted(unknown)}" if unknown else "require_roles needs a role")
    names = ", ".join(sorted(role.replace("_", " ") + "s" for role in allowed))
    return _admitting(lambda principal: principal.role in allowed, f"this call is for {names}")


require_staff = _admitting(lambda principal: principal.is_staff, "this call is for staff")
require_admin = _admitting(lambda principal: principal.role == "admin", "this call is for administrators")


# -- the aliases routers declare their parameters with (one definition each) ---------------------

EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Caller = Annotated[Principal, Depends(authenticate)]  # anyone authenticated
Customer = Annotated[Principal, Depends(require_roles("customer"))]
# A paying customer: the session is checked in the payment's own transaction (`check_session`).
PayingCustomer = Annotated[Principal, Depends(session_checked_in_call)]
Merchant = Annotated[Principal, Depends(require_roles("merchant"))]
Operator = Annotated[Principal, Depends(require_roles("operator", "admin"))]
Officer = Annotated[Principal, Depends(require_roles("risk_officer", "admin"))]  # 风控 officer
Staff = Annotated[Principal, Depends(require_staff)]  # any staff role, the regulator included
Admin = Annotated[Principal, Depends(require_admin)]
