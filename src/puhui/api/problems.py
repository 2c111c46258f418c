"""RFC 9457 problem details: every error leaves the API as `application/problem+json` with a
stable `code`."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from puhui.errors import PuhuiError

PROBLEM_BASE = "https://puhui.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str = "", instance: str = "", **extra: Any) -> JSONResponse:
    body = {"type": PROBLEM_BASE + code, "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _request_id(request: Request) -> dict[str, str]:
    found = request.scope.get("state", {}).get("request_id")
    return {"request_id": found} if found else {}


async def on_puhui_error(request: Request, error: PuhuiError) -> JSONResponse:
    if error.status in (401, 403) and not getattr(request.state, "audited", False):
        await _audit_refusal(request, error)
    response = problem(
        error.status, error.code, error.title, error.detail, request.url.path, **{**error.extra, **_request_id(request)}
    )
    if "retry_after_seconds" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after_seconds"])
    return response


async def _audit_refusal(request: Request, error: PuhuiError) -> None:
    """A refused call (401/403) is audited like any other: who, what, from where, and why not."""
    from starlette.concurrency import run_in_threadpool

    from puhui import clock
    from puhui.db import transaction
    from puhui.db.tables import audit_log

    engine = getattr(request.app.state, "engine", None)
    if engine is None:
        return
    principal = getattr(request.state, "principal", None)
    route = request.scope.get("route")
    values = {
        "at": clock.now_micros(),
        "principal": principal.id if principal is not None else "anonymous",
        "action": f"{request.method} {getattr(route, 'path', request.url.path)}"[:64],
        "target": request.url.path[:256],
        "source_ip": request.client.host if request.client else None,
        "request_id": _request_id(request).get("request_id")
        or (request.headers.get("X-Request-Id") or "")[:64]
        or None,
        "status_code": error.status,
        "detail": json.dumps({"error": error.code}),
    }
    await run_in_threadpool(transaction, engine, lambda uow: uow.execute(audit_log.insert().values(**values)))


async def on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = error.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(
            400,
            "malformed_json",
            "Request body is not valid JSON",
            _first_message(errors),
            request.url.path,
            **_request_id(request),
        )
    details = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
        for e in errors
    ]
    return problem(
        422,
        "invalid_request",
        "Request failed validation",
        _first_message(errors),
        request.url.path,
        errors=details,
        **_request_id(request),
    )


async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    codes = {
        400: "malformed_body",
        404: "not_found",
        405: "method_not_allowed",
        401: "unauthorized",
        403: "forbidden",
    }  # 400: FastAPI could not parse the body (e.g. JSON nested past the parser's depth)
    code = codes.get(error.status_code, f"http_{error.status_code}")
    return problem(error.status_code, code, str(error.detail), "", request.url.path, **_request_id(request))


def _first_message(errors: list[dict]) -> str:
    if not errors:
        return ""
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
