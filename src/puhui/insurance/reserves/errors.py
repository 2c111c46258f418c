"""Reserve errors, each with a stable machine code (RFC 9457 problems through the API)."""

from __future__ import annotations

from puhui.errors import InvalidInput, NotFound


class ReserveRunNotFound(NotFound):
    """The reserve end of day (准备金日终) has not run for this insurer and date."""

    code = "reserve_run_not_found"
    title = "No reserve run for this insurer and date"


class ReserveTermsInvalid(InvalidInput):
    """An insurer's ratios (预期赔付率, 佣金率, 费用率) out of range."""

    code = "reserve_terms_invalid"
    title = "Invalid reserve terms"
