"""Sandbox errors, each with a stable machine code (RFC 9457 problems through the API)."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput


class ClockMoveInvalid(InvalidInput):
    code = "clock_move_invalid"
    title = "Give exactly one of `advance` (an ISO 8601 duration) or `to` (an instant with its offset)"


class ClockBackwards(Conflict):
    code = "clock_backwards"
    title = "The platform clock only moves forward"


class ClockTooFar(InvalidInput):
    code = "clock_too_far"
    title = "The sandbox clock may run at most 100 years ahead of wall time"


class SandboxDisabled(Conflict):
    code = "sandbox_disabled"
    status = 404
    title = "There is no sandbox clock outside the sandbox (PUHUI_SANDBOX=true)"
