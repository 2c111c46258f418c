"""RFC 9457 problem details: every error leaves the API as `application/problem+json` with a
stable `code`."""

from __future__ import annotations

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


async def on_puhui_error(request: Request, error: PuhuiError) -> JSONResponse:
    return problem(error.status, error.code, error.title, error.detail, request.url.path, **error.extra)


async def on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = error.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "malformed_json", "Request body is not valid JSON", _first_message(errors), request.url.path)
    details = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
        for e in errors
    ]
    return problem(
        422, "invalid_request", "Request failed validation", _first_message(errors), request.url.path, errors=details
    )


async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
    code = codes.get(error.status_code, f"http_{error.status_code}")
    return problem(error.status_code, code, str(error.detail), "", request.url.path)


def _first_message(errors: list[dict]) -> str:
    if not errors:
        return ""
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
