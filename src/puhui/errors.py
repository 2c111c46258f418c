"""The one error hierarchy: every error carries a stable machine code and an HTTP status.

The API turns any `PuhuiError` into an RFC 9457 problem with that code; nothing else is
caught broadly.
"""

from __future__ import annotations

from typing import Any


class PuhuiError(Exception):
    code = "puhui_error"
    status = 400
    title = "Request could not be processed"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class InvalidInput(PuhuiError):
    code = "invalid_input"
    status = 422
    title = "Invalid input"


class NotFound(PuhuiError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(PuhuiError):
    code = "conflict"
    status = 409
    title = "Conflict with the current state"


class Unauthorized(PuhuiError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class Forbidden(PuhuiError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class InsecureSettings(PuhuiError):
    """`puhui serve` outside the sandbox with public, missing or short secrets: it does not start."""

    code = "insecure_settings"
    status = 500
    title = "The server's secrets are not fit for real money"
    exit_status = 2
