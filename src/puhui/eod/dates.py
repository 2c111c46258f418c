"""Business dates (营业日) as every end-of-day API and command takes them.

A date is the string `YYYY-MM-DD` and nothing else: not an integer (`86400` is not 1970-01-02),
not `2026/12/01`, not the compact or week forms Python's `date.fromisoformat` also reads.

Two checks against the platform's clock (`puhui.clock`, the sandbox clock in the demo):
- `check_over`, the rule of every end-of-day job (日终) and report: a date runs once it is over, that is
  once the clock has passed its end in China time (China midnight; the platform has no earlier
  cut-off). Today is refused (`business_date_not_over`), a later date too (`business_date_in_future`).
  A T+1 job (merchant settlement of D, paid on D+1) is no exception: it runs for D once D is over.
  Running a day's batch while the day goes on would pay income and confirm orders for a day still open.
- `check_date`, for reads of a day's figures (a statement, a partner file): not after today.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, ValidationInfo, WithJsonSchema

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


def is_over(day: dt.date) -> bool:
    """Whether `day` has ended on the platform's clock: now is at or past its end (China midnight)."""
    return day < dt.date.max and clock.now_micros() >= clock.day_bounds(day)[1]


def latest() -> dt.date:
    """The latest date an end-of-day job may run now: the last business date that is over (yesterday)."""
    return clock.business_date() - dt.timedelta(days=1)


def check_date(day: dt.date, what: str = "date") -> dt.date:
    """`day` when it is not after today's business date (a read of a day's figures); else refused."""
    today = clock.business_date()
    if day > today:
        raise BusinessDateInFuture(f"{what} {day} is after today's business date {today}", business_date=str(today))
    return day


def check_over(day: dt.date, what: str = "date") -> dt.date:
    """`day` when an end-of-day job may run it now: the day is over; refused (changing nothing) when not."""
    check_date(day, what)
    if not is_over(day):
        now = clock.now().astimezone(clock.CHINA)
        raise BusinessDateNotOver(
            f"{what} {day} is not over yet (it is {now:%Y-%m-%d %H:%M} China time): its end of day runs from "
            f"{day + dt.timedelta(days=1)} 00:00; the latest date that can run now is {latest()}",
            business_date=now.date().isoformat(),
            latest=latest().isoformat(),
        )
    return day


def _strict(value: object, info: ValidationInfo) -> object:
    # DateInvalid leaves the validator as itself: a `date_invalid` problem, naming the field it was sent in
    return parse_date(value, info.field_name or "date")


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
