"""Trading days from the XSHG calendar and the phases of a trading day."""

from __future__ import annotations

import datetime as dt

import pytest

from puhui.securities import calendar
from puhui.securities.calendar import Phase


def test_trading_days_follow_the_exchange_holidays():
    assert calendar.is_trading_day(dt.date(2026, 12, 4))  # a Friday
    assert not calendar.is_trading_day(dt.date(2026, 12, 5))
    assert not calendar.is_trading_day(dt.date(2026, 10, 1))  # National Day
    assert not calendar.is_trading_day(dt.date(2026, 2, 17))  # Spring Festival
    assert calendar.next_trading_day(dt.date(2026, 9, 30)) == dt.date(2026, 10, 8)
    assert calendar.trading_days_between(dt.date(2026, 9, 28), dt.date(2026, 10, 9)) == 5  # 28–30, 8, 9


def test_past_the_published_holidays_weekdays_trade_except_fixed_date_holidays():
    assert calendar.recorded_through() >= dt.date(2026, 12, 31)
    assert not calendar.is_trading_day(dt.date(2027, 1, 1))
    assert calendar.is_trading_day(dt.date(2027, 1, 4))
    assert not calendar.is_trading_day(dt.date(2027, 10, 4))
    assert calendar.next_trading_day(dt.date(2026, 12, 31)) == dt.date(2027, 1, 4)


@pytest.mark.parametrize(
    ("clock", "phase"),
    [
        ("09:14:59", Phase.closed),
        ("09:15:00", Phase.opening_auction),
        ("09:22:00", Phase.opening_auction_no_cancel),
        ("09:27:00", Phase.pre_open),
        ("10:00:00", Phase.continuous),
        ("12:00:00", Phase.lunch_break),
        ("13:00:00", Phase.continuous),
        ("14:58:00", Phase.closing_auction),
        ("15:00:00", Phase.closed),
    ],
)
def test_the_phase_of_a_trading_day(clock, phase):
    moment = dt.datetime.combine(dt.date(2026, 12, 4), dt.time.fromisoformat(clock))
    assert calendar.phase_at(moment) is phase


def test_a_holiday_is_closed_all_day_and_only_continuous_trading_takes_market_orders():
    assert calendar.phase_at(dt.datetime(2026, 10, 1, 10, 0)) is Phase.closed
    assert [p for p in Phase if calendar.accepts_market_orders(p)] == [Phase.continuous]
    assert not calendar.accepts_cancel(Phase.opening_auction_no_cancel)
    assert not calendar.accepts_cancel(Phase.closing_auction)
    assert not calendar.accepts_orders(Phase.lunch_break)
