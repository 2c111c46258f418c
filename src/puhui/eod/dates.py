"""Business dates (营业日) as every end-of-day API and command takes them.

A date is the string `YYYY-MM-DD` and nothing else: not an integer (`86400` is not 1970-01-02),
not `2026/12/01`, not the compact or week forms Python's `date.fromisoformat` also reads. A date
after today's business date (`puhui.clock.business_date()`) is refused; a T+1 job (settlement,
reconciliation, reports) refuses today as well, since the day is not over.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from puhui import clock
from puhui.eod.errors import BusinessDateInFuture, BusinessDateNotOver, DateInvalid

PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ISO = re.compile(PATTERN)


def parse_date(value: object, what: str = "date") -> dt.date:
    """`value` as a date when it is a `YYYY-MM-DD` string of a real calendar day; else `DateInvalid`."""
    if not isinstance(value, str) or not _ISO.match(value):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise DateInvalid(f"{what} must be a date string YYYY-MM-DD, got {shown}", field=what)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DateInvalid(f"{what} {value!r} is not a calendar date", field=what) from None


def latest(t_plus: int = 0) -> dt.date:
    """The latest date a job may run today: today's business date, or the day before for T+1 jobs."""
    return clock.business_date() - dt.timedelta(days=t_plus)


def check_date(day: dt.date, t_plus: int = 0, what: str = "date") -> dt.date:
    """`day` when a job may run it now; refused when after today (or, T+1, not over yet)."""
    today = clock.business_date()
    if day > today:
        raise BusinessDateInFuture(f"{what} {day} is after today's business date {today}", business_date=str(today))
    if day > latest(t_plus):
        raise BusinessDateNotOver(
            f"{what} {day} is not over yet: it can run from the next business day (today is {today})",
            business_date=str(today),
        )
    return day


def _strict(value: object) -> object:
    return parse_date(value)  # DateInvalid leaves the validator as itself: a `date_invalid` problem


# A request-body field: validated by `parse_date`, documented as a string of format date. The error
# is a PuhuiError (not a ValueError), so the API answers 422 `date_invalid` rather than the generic
# `invalid_request`.
BusinessDate = Annotated[
    dt.date,
    BeforeValidator(_strict),
    WithJsonSchema(
        {"type": "string", "format": "date", "pattern": PATTERN, "description": "business date YYYY-MM-DD (China time)"}
    ),
]
