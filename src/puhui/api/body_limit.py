"""Request bodies have a size limit (default 8 MiB, `PUHUI_MAX_BODY_BYTES`): a larger one is refused with a
413 problem (`request_too_large`) before it is read into memory, whether it declares its length or streams
it in chunks; a `Content-Length` that is not a number is a malformed request (400 `invalid_content_length`).
The largest legitimate body is a fund manager's NAV file (5,000,000 characters)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from puhui.api.problems import problem


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not declared.isdigit():
            await self._refuse(scope, receive, send, malformed=True)
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen, too_large, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise BodyTooLarge()  # the framework turns it into an answer of its own: replaced below
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if too_large:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            pass
        if too_large and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, malformed: bool = False) -> None:
        request_id = scope.get("state", {}).get("request_id")
        status, code, title, detail = (
            (400, "invalid_content_length", "Content-Length is not a number", "Content-Length must be a byte count")
            if malformed
            else (
                413,
                "request_too_large",
                "Request body too large",
                f"a request body may have at most {self.max_bytes:,} bytes",
            )
        )
        answer = problem(
            status,
            code,
            title,
            detail,
            scope.get("path", ""),
            **({"request_id": request_id} if request_id else {}),
        )
        await answer(scope, receive, send)
