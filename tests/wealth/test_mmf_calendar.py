"""The trading calendar and order dates across the 15:00 cut-off, weekends and holidays (table-driven)."""

from __future__ import annotations

import datetime as dt

import pytest

from puhui import clock
from puhui.wealth import calendar

CHINA = clock.CHINA
D = dt.date.fromisoformat

# (order placed, China time) → (trade date T, confirmation / cash date T+1)
CASES = [
    ("2026-03-02T10:00", "2026-03-02", "2026-03-03"),  # Monday morning
    ("2026-03-02T14:59", "2026-03-02", "2026-03-03"),  # one minute before the cut-off
    ("2026-03-02T15:00", "2026-03-03", "2026-03-04"),  # at the cut-off: next trading day
    ("2026-03-06T14:00", "2026-03-06", "2026-03-09"),  # Friday: confirmed Monday
    ("2026-03-06T16:00", "2026-03-09", "2026-03-10"),  # Friday after 15:00
    ("2026-03-07T10:00", "2026-03-09", "2026-03-10"),  # Saturday
    ("2026-03-08T23:59", "2026-03-09", "2026-03-10"),  # Sunday night
    ("2026-02-13T14:00", "2026-02-13", "2026-02-24"),  # before Spring Festival (closed 16-20, 23)
    ("2026-02-13T15:30", "2026-02-24", "2026-02-25"),
    ("2026-02-18T10:00", "2026-02-24", "2026-02-25"),  # during the holiday
    ("2026-04-03T15:00", "2026-04-07", "2026-04-08"),  # Friday after cut-off, Qingming Monday closed
    ("2026-09-30T14:00", "2026-09-30", "2026-10-08"),  # before National Day
    ("2026-10-07T09:00", "2026-10-08", "2026-10-09"),
    ("2025-12-31T14:59", "2025-12-31", "2026-01-05"),  # New Year (1-2 Jan closed), then the weekend
]


@pytest.mark.parametrize(("placed", "trade", "due"), CASES)
def test_trade_and_confirmation_dates(placed: str, trade: str, due: str) -> None:
    at = clock.to_micros(dt.datetime.fromisoformat(placed).replace(tzinfo=CHINA))
    t = calendar.trade_date(at)
    assert t == D(trade)
    assert calendar.next_trading_day(t) == D(due)
    assert calendar.add_trading_days(t, 1) == D(due)


def test_calendar_basics() -> None:
    assert calendar.is_trading_day(D("2026-03-02"))
    assert not calendar.is_trading_day(D("2026-03-07"))  # Saturday
    assert not calendar.is_trading_day(D("2026-10-01"))  # National Day
    assert calendar.add_trading_days(D("2026-03-02"), 0) == D("2026-03-02")
    assert calendar.add_trading_days(D("2026-03-05"), 3) == D("2026-03-10")
    # a holiday list is data: a custom one changes the answer
    assert calendar.next_trading_day(D("2026-03-02"), frozenset({D("2026-03-03")})) == D("2026-03-04")
