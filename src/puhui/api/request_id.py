"""Every request has an id (`X-Request-ID`): the caller's when it is sane, else a new one. It is on every
response, in every problem, in the audit log and in the log line of an unexpected error — and an error no
handler knew still leaves as an RFC 9457 problem (`internal_error`, 500), never a bare text page."""

from __future__ import annotations

import logging
import random
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from puhui.api.problems import problem

log = logging.getLogger("puhui.api")
HEADER = "X-Request-ID"
SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


def request_id_of(request: Request) -> str:
    """The request's id as the middleware set it (a header of the caller's, or new)."""
    return request.scope.get("state", {}).get("request_id") or request.headers.get(HEADER) or ""


def request_id_for(scope: Scope) -> str:
    """The caller's `X-Request-ID` when it is sane (1-64 of `A-Za-z0-9._:-`), else a new one."""
    given = Headers(scope=scope).get(HEADER, "")
    return given if SANE.match(given) else new_request_id()


def new_request_id() -> str:
    """32 hex digits. An id to quote, not a secret: from the process's generator (reseeded in a forked child),
    not the kernel's, whose system call was a twentieth of a payment's time on the event loop."""
    return f"{random.getrandbits(128):032x}"


class RequestIdMiddleware:
    """Pure ASGI (it must wrap streaming and the server-error path alike)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:  # the caller went away before its request was read: no one to answer, no error
            method, path = scope.get("method"), scope.get("path")
            log.info("client disconnected during %s %s (request %s)", method, path, request_id)
        except Exception:  # noqa: BLE001 - the one place an unknown error becomes a problem, logged with its id
            log.exception("unexpected error in %s %s (request %s)", scope.get("method"), scope.get("path"), request_id)
            if started:
                raise
            answer = problem(
                500,
                "internal_error",
                "Internal server error",
                "an unexpected error stopped the request; quote the request id when you report it",
                scope.get("path", ""),
                request_id=request_id,
            )
            answer.headers[HEADER] = request_id
            await answer(scope, receive, send)
