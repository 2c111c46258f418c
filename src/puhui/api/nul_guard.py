"""No text the platform keeps may hold a NUL character (U+0000): PostgreSQL cannot store one, so a NUL in
a path, a query or a JSON string was a 500 there (and silently stored on SQLite). The guard refuses such a
request at the door with one 422 problem (`nul_character`) on every backend, before anything is read or
written."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from puhui.api.problems import problem

# `\u0000` in JSON text, unless its backslash is itself escaped (`\\u0000` is a backslash and "u0000")
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_QUERY_NUL = re.compile(rb"%00")


def nul_in(scope: Scope, body: bytes) -> str | None:
    """Where the request carries a NUL character (`path`, `query` or `body`), or None."""
    if "\x00" in scope.get("path", "") or b"\x00" in scope.get("raw_path", b""):
        return "path"
    query = scope.get("query_string", b"")
    if b"\x00" in query or _QUERY_NUL.search(query):
        return "query"
    if b"\x00" in body or _JSON_NUL.search(body):
        return "body"
    return None


class NulGuardMiddleware:
    """Pure ASGI: reads the body (already bounded by the body limit), checks it, then hands it on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages = await _read_body(receive) if scope.get("method") in ("POST", "PUT", "PATCH", "DELETE") else []
        where = nul_in(scope, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"))
        if where is not None:
            request_id = scope.get("state", {}).get("request_id")
            answer = problem(
                422,
                "nul_character",
                "Text may not contain NUL characters",
                f"the request's {where} holds a NUL character (U+0000); no text may contain one",
                scope.get("path", "").replace("\x00", "\\u0000"),
                **({"request_id": request_id} if request_id else {}),
            )
            await answer(scope, receive, send)
            return
        await self.app(scope, _replaying(messages, receive), send)


async def _read_body(receive: Receive) -> list[Message]:
    """Every message up to the end of the body (or a disconnect)."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
