"""The platform's HTTP API called in process (进程内调用): a page asks the same endpoints a phone app
would, with the viewer's session token and the visitor's address, so the console has no rules of its
own: roles, masking, limits, idempotency and audit are the API's."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request

from puhui.errors import PuhuiError

STANDARD_MEMBERS = frozenset({"type", "title", "status", "code", "detail", "instance"})
"""A problem's members every problem has (RFC 9457 and the platform's `code`); the rest are its extras."""


class ApiProblem(PuhuiError):
    """An RFC 9457 problem the API answered; the page shows its detail and keeps its status (the
    instance carries the API's own `code`) and its extra members in `extra` (e.g. the 409
    `merchant_balance_insufficient`'s `top_up_at_least`, `available` and `needed`), so a page reads a
    figure from its field, never out of the detail's words."""

    code = "console_api_problem"

    def __init__(self, status: int, code: str, detail: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail, **(extra or {}))
        self.status, self.code, self.detail = status, code, detail


async def call(
    request: Request,
    method: str,
    path: str,
    *,
    token: str | None = None,
    json: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    key: str | None = None,
) -> Any:
    """The JSON answer of one API call; a 4xx/5xx problem is raised as `ApiProblem`."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    if request_id := request.headers.get("x-request-id"):
        headers["X-Request-ID"] = request_id
    host = request.client.host if request.client else "127.0.0.1"
    transport = httpx.ASGITransport(app=request.app, client=(host, 0))
    async with httpx.AsyncClient(transport=transport, base_url="http://console.internal") as api:
        answer = await api.request(method, path, json=json, params=params, headers=headers)
    body = answer.json() if answer.content else None
    if answer.status_code >= 400:
        body = body if isinstance(body, dict) else {}
        raise ApiProblem(answer.status_code, str(body.get("code", "error")), _detail(body), extras(body))
    return body


def extras(problem: dict[str, Any]) -> dict[str, Any]:
    """The problem's members beyond the standard ones (`STANDARD_MEMBERS`)."""
    return {name: value for name, value in problem.items() if name not in STANDARD_MEMBERS}


def _detail(problem: dict[str, Any]) -> str:
    """The problem's own words (a 422 names the first invalid field in its detail)."""
    return str(problem.get("detail") or problem.get("title") or "")
