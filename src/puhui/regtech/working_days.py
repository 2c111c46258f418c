"""Working days (工作日) for regulatory deadlines (报送期限): the State Council's holiday schedule with its
make-up working days (调休上班日).

PBOC Order 2016 No. 3 counts its deadlines in working days: a large-value transaction report is due
within 5 working days of the transaction, a suspicious transaction report within 5 working days of the
determination. Working days follow the General Office of the State Council's yearly notice: public
holidays are off, and the weekends it moves to work (e.g. Saturday 2026-02-14 before the Spring
Festival, Saturday 2026-10-10 after National Day) are working days. The schedule comes from the
`chinese-calendar` library (PyPI `chinese-calendar`), which carries each year's notice once published.

Not the exchanges' trading calendar (`puhui.wealth.calendar`): the exchanges stay closed on make-up
working weekends, a regulatory deadline does not.

Years the library has no schedule for (the next year before the State Council publishes it and a
release of the library carries it, or years before 2004) fall back to Monday to Friday as working days,
less the public holidays whose Gregorian dates are fixed by the 全国年节及纪念日放假办法 (as amended in
2024, in force from 2025; `FIXED_HOLIDAYS`): 元旦 January 1, 劳动节 May 1–2, 国庆节 October 1–3. What the
fallback cannot know without the yearly notice: the lunar holidays (春节, 端午节, 中秋节) and the solar-term
one (清明节), whose dates move; the days the notice adds to make a holiday a week long or puts in place of
a holiday falling on a weekend (a fixed holiday on a Saturday or Sunday skips nothing); and the make-up
working weekends (调休上班日). Against the schedule published later, a deadline counted so is early when
such a day off falls in its span and late only when a make-up working weekend does; upgrading
`chinese-calendar` brings the real schedule. A stored report keeps the deadline counted when it was
generated.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

ONE_DAY = dt.timedelta(days=1)
# (month, day) of the public holidays fixed in the Gregorian calendar (全国年节及纪念日放假办法, 2024 amendment)
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


def is_working_day(day: dt.date) -> bool:
    """Whether `day` is a working day: the State Council's schedule where `chinese-calendar` has the
    year, else Monday to Friday less the fixed-date holidays (`FIXED_HOLIDAYS`)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # no schedule for the year
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def has_schedule(year: int) -> bool:
    """Whether the State Council's schedule of `year` is known (else working days fall back to weekdays
    less the fixed-date holidays)."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The `n`th working day after `day` (n ≥ 1; `day` itself need not be a working day)."""
    if n < 1:
        raise ValueError("count at least one working day")
    found = 0
    while found < n:
        day += ONE_DAY
        if is_working_day(day):
            found += 1
    return day
