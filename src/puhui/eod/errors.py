"""Eod errors, each with a stable machine code (RFC 9457 problems through the API)."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput


class DateInvalid(InvalidInput):
    code = "date_invalid"
    title = "A date must be a string YYYY-MM-DD"


class BusinessDateInFuture(InvalidInput):
    code = "business_date_in_future"
    title = "The business date is after today's"


class BusinessDateNotOver(Conflict):
    code = "business_date_not_over"
    title = "The business date is not over yet"


class BusinessDateClosed(Conflict):
    code = "business_date_closed"
    title = "End of day already ran past this date"


class BusinessDateGap(Conflict):
    code = "business_date_gap"
    title = "Earlier business dates have not run yet"


class BusinessDateTooOld(InvalidInput):
    code = "business_date_too_old"
    title = "The business date is too far back for a job's first run"
