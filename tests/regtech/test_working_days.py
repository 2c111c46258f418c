"""Regulatory deadlines count working days of the State Council's schedule, make-up working weekends (调休上班日)
included: the large-value report (PBOC Order 2016 No. 3, within 5 working days) and the suspicious transaction
report (within 5 working days of the determination). The oracle is the `chinese-calendar` library itself
(`is_workday`, `find_workday`, `get_workdays`), not dates written from memory. The exchanges' trading calendar,
which skips those Saturdays, gave 2026-02-25 and 2026-10-14 for the two holidays below.

Years the library has no schedule for fall back to Monday to Friday, less the holidays with fixed Gregorian
dates (元旦 01-01, 劳动节 05-01/02, 国庆节 10-01/02/03)."""

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
    """2100 (and any year before 2004) has no schedule in the library: Monday to Friday work, less the
    fixed-date holidays."""
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(dt.date(2100, 1, 4))
    assert not working_days.has_schedule(2100) and working_days.has_schedule(2026)
    start = dt.date(2100, 1, 1)  # a Friday, New Year's Day (元旦)
    week = [start + i * DAY for i in range(7)]
    assert [working_days.is_working_day(d) for d in week] == [d.weekday() < 5 and d != start for d in week]
    assert not working_days.is_working_day(start)
    assert reports.deadline(start) == dt.date(2100, 1, 8)  # Mon 4 … Fri 8
    assert reports.deadline(dt.date(2099, 12, 31)) == dt.date(2100, 1, 8)  # Thursday: Fri 01-01 is off


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
    assert working_days.is_working_day(dt.date(2026, 2, 16))  # a Spring Festival Monday: lunar, unknown
    assert reports.deadline(dt.date(2026, 2, 10)) == dt.date(2026, 2, 17)  # Wed 11 … Fri 13, Mon 16, Tue 17
    # 2025-12-31 (Wednesday): 2026 counted by weekdays less 元旦: Thu 01-01 off, Fri 2 … Thu 8
    assert not working_days.is_working_day(dt.date(2026, 1, 1))
    assert reports.deadline(dt.date(2025, 12, 31)) == dt.date(2026, 1, 8)
    assert not working_days.has_schedule(2026)


def _without_2027_and_2028(monkeypatch: pytest.MonkeyPatch) -> None:
    """As chinese-calendar 1.11.0 is: no schedule for 2027 or 2028 (whatever release is installed)."""
    known = chinese_calendar.is_workday

    def without(day: dt.date) -> bool:
        if day.year in (2027, 2028):
            raise NotImplementedError(f"no available data for year {day.year}")
        return known(day)

    monkeypatch.setattr(chinese_calendar, "is_workday", without)


def test_the_fallback_skips_new_years_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """2026-12-25 (Friday): Mon 28 … Thu 31, Fri 2027-01-01 is 元旦, so Mon 01-04 (not 01-01)."""
    _without_2027_and_2028(monkeypatch)
    assert not working_days.is_working_day(dt.date(2027, 1, 1))
    assert reports.deadline(dt.date(2026, 12, 25)) == dt.date(2027, 1, 4)


@pytest.mark.skipif(working_days.has_schedule(2027), reason="the installed chinese-calendar has 2027's schedule")
def test_the_installed_library_without_2027_skips_new_years_day() -> None:
    assert reports.deadline(dt.date(2026, 12, 25)) == dt.date(2027, 1, 4)


def test_the_fallback_skips_labour_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """劳动节 May 1–2: in 2028 a Monday and Tuesday, skipped; in 2027 a Saturday and Sunday, so nothing is
    skipped (the day the notice may give in place of them is not known without it)."""
    _without_2027_and_2028(monkeypatch)
    assert not working_days.is_working_day(dt.date(2028, 5, 1)) and not working_days.is_working_day(dt.date(2028, 5, 2))
    assert reports.deadline(dt.date(2028, 4, 28)) == dt.date(2028, 5, 9)  # Fri → Wed 3, Thu 4, Fri 5, Mon 8, Tue 9
    assert working_days.is_working_day(dt.date(2027, 5, 3))
    assert reports.deadline(dt.date(2027, 4, 29)) == dt.date(2027, 5, 6)  # Thu → Fri 30, Mon 3 … Thu 6


def test_the_fallback_skips_national_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """国庆节 October 1–3 2027: Friday 1 off (2, 3 are a weekend); 10-04 … 10-07 are not known to be off."""
    _without_2027_and_2028(monkeypatch)
    assert [working_days.is_working_day(dt.date(2027, 10, d)) for d in range(1, 5)] == [False, False, False, True]
    assert reports.deadline(dt.date(2027, 9, 30)) == dt.date(2027, 10, 8)  # Thu → Mon 4 … Fri 8


def test_counting_needs_at_least_one_day() -> None:
    with pytest.raises(ValueError):
        working_days.add_working_days(dt.date(2026, 1, 5), 0)
