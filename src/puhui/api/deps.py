"""Dependencies injected into routers: the engine, settings and the authenticated principal."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from puhui.errors import Forbidden, Unauthorized
from puhui.settings import Settings

bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff member (by role), later also customers, merchants and partners."""

    id: str
    role: str


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send Authorization: Bearer <token>")
    admin_token = request.app.state.settings.admin_token
    if admin_token and hmac.compare_digest(credentials.credentials.encode(), admin_token.encode()):
        return Principal(id="admin", role="admin")
    raise Unauthorized("the token is not valid")


def require_admin(principal: Principal = Depends(authenticate)) -> Principal:
    if principal.role != "admin":
        raise Forbidden("the ledger API is for administrators")
    return principal
