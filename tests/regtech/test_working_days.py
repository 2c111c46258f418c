"""Regulatory deadlines count working days of the State Council's schedule, make-up working weekends (调休上班日)
included: the large-value report (PBOC Order 2016 No. 3, within 5 working days) and the suspicious transaction
report (within 5 working days of the determination). The oracle is the `chinese-calendar` library itself
(`is_workday`, `find_workday`, `get_workdays`), not dates written from memory. The exchanges' trading calendar,
which skips those Saturdays, gave 2026-02-25 and 2026-10-14 for the two holidays below.

Years the library has no schedule for fall back to Monday to Friday."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.regtech import reports, str_report, working_days
from puhui.wealth.calendar import add_trading_days

DAY = dt.timedelta(days=1)


def oracle(day: dt.date, n: int = reports.DEADLINE_WORKING_DAYS) -> dt.date:
    """The library's own count: the nth of its working days after `day`."""
    return chinese_calendar.get_workdays(day + DAY, day + 40 * DAY)[n - 1]


@pytest.mark.parametrize("saturday", ["2026-02-14", "2026-02-28", "2026-10-10"])
def test_make_up_saturdays_of_2026_are_working_days(saturday: str) -> None:
    day = dt.date.fromisoformat(saturday)
    assert day.weekday() == 5 and chinese_calendar.is_workday(day)  # the library's schedule says so
    assert working_days.is_working_day(day)


@pytest.mark.parametrize(
    "day, label",
    [
        (dt.date(2026, 2, 10), "Spring Festival 2026: Sat 02-14 works, 02-15 … 02-23 off"),
        (dt.date(2026, 9, 30), "National Day 2026: 10-01 … 10-07 off, Sat 10-10 works"),
    ],
)
def test_the_deadline_across_the_2026_holidays_is_the_librarys_5th_working_day(day: dt.date, label: str) -> None:
    assert chinese_calendar.is_workday(day)  # so find_workday(5, day) is the 5th working day after it
    expected = chinese_calendar.find_workday(5, day)
    assert expected == oracle(day), label
    assert reports.deadline(day) == expected, label
    # what the trading calendar gives (make-up Saturdays closed): one working day too late
    assert add_trading_days(day, 5) > expected


def test_the_repro_dates_now_fall_on_the_schedules_deadline() -> None:
    assert reports.deadline(dt.date(2026, 2, 10)) == chinese_calendar.find_workday(5, dt.date(2026, 2, 10))
    assert reports.deadline(dt.date(2026, 9, 30)) == chinese_calendar.find_workday(5, dt.date(2026, 9, 30))
    assert reports.deadline(dt.date(2026, 2, 10)) != dt.date(2026, 2, 25)
    assert reports.deadline(dt.date(2026, 9, 30)) != dt.date(2026, 10, 14)


def test_the_suspicious_report_counts_its_deadline_the_same_way() -> None:
    assert str_report.deadline is reports.deadline
    determined = dt.date(2026, 2, 12)
    assert str_report.deadline(determined) == oracle(determined)


@given(st.dates(dt.date(2004, 1, 1), dt.date(2026, 11, 20)))  # day + 40 days stays in 2026
def test_every_deadline_the_library_covers_agrees_with_it(day: dt.date) -> None:
    assert reports.deadline(day) == oracle(day)
    for n in (1, 2, 10):
        assert working_days.add_working_days(day, n) == oracle(day, n)


# -- years without a schedule ---------------------------------------------------------------------


def test_a_year_without_a_schedule_falls_back_to_weekdays() -> None:
    """2100 (and any year before 2004) has no schedule in the library: Monday to Friday work, nothing else."""
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(dt.date(2100, 1, 4))
    assert not working_days.has_schedule(2100) and working_days.has_schedule(2026)
    start = dt.date(2100, 1, 1)  # a Friday; a New Year's Day the fallback does not know
    week = [start + i * DAY for i in range(7)]
    assert [working_days.is_working_day(d) for d in week] == [d.weekday() < 5 for d in week]
    assert working_days.is_working_day(start)
    assert reports.deadline(start) == dt.date(2100, 1, 8)  # Mon 4 … Fri 8


def test_the_fallback_applies_per_year_when_the_library_refuses_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if 2026 were not yet published: its make-up Saturdays and holidays are unknown, weekdays count;
    the last days of 2025 still follow the schedule."""
    known = chinese_calendar.is_workday

    def without_2026(day: dt.date) -> bool:
        if day.year == 2026:
            raise NotImplementedError(f"no available data for year {day.year}")
        return known(day)

    monkeypatch.setattr(chinese_calendar, "is_workday", without_2026)
    assert not working_days.is_working_day(dt.date(2026, 2, 14))  # a Saturday, as far as weekdays go
    assert working_days.is_working_day(dt.date(2026, 2, 16))  # a holiday Monday, unknown without the schedule
    assert reports.deadline(dt.date(2026, 2, 10)) == dt.date(2026, 2, 17)  # Wed 11 … Fri 13, Mon 16, Tue 17
    # 2025-12-31 (Wednesday): 2026 counted by weekdays: Thu 01-01 … Wed 01-07
    assert reports.deadline(dt.date(2025, 12, 31)) == dt.date(2026, 1, 7)
    assert not working_days.has_schedule(2026)


def test_counting_needs_at_least_one_day() -> None:
    with pytest.raises(ValueError):
        working_days.add_working_days(dt.date(2026, 1, 5), 0)
