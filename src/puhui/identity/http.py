"""Shared pieces of the identity HTTP routers: the vault, reads off the event loop, and returning a
secret (API key, staff token) exactly once — never through the idempotency store."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui.api.reads import read  # noqa: F401 - re-exported for the identity routers
from puhui.db import UnitOfWork, transaction
from puhui.identity.pii import vault_for
from puhui.identity.vault import Vault

T = TypeVar("T")


def vault_of(request: Request) -> Vault:
    """The app's vault; `vault_not_configured` (500) when PUHUI_PII_KEYS is unset."""
    return vault_for(request.app.state.settings)


def request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id") or request.headers.get("X-Request-ID")


async def write(engine: Engine, work: Callable[[UnitOfWork], T]) -> T:
    return await run_in_threadpool(transaction, engine, work)


def with_secret(response: Response, name: str, secret: str | None, note: str) -> Response:
    """Add a freshly minted secret to a 201 answer. A replayed answer (same Idempotency-Key) never
    has it: the idempotency store keeps the body without the secret, so it is shown once only."""
    body: dict[str, Any] = json.loads(bytes(response.body))
    if secret is not None and response.status_code == 201 and "Idempotent-Replayed" not in response.headers:
        body[name] = secret
    else:
        body[name] = None
    body[f"{name}_note"] = note
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
    return JSONResponse(body, status_code=response.status_code, headers=headers)
