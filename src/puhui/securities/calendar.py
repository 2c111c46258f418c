"""When the A-share market trades: trading days (交易日) from `exchange_calendars`' XSHG calendar, and
the phases of a trading day (交易时段) in China time.

XSHG records the exchange's holidays as far as they are published (today through 2026). A date past
the last recorded year trades on weekdays except the fixed-date holidays (New Year's Day, 1–5 May,
1–7 October); the lunar holidays of such a year are not known until the State Council publishes
them, so a simulation running into it trades on them. `recorded_through()` says where the records end.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import functools
import warnings

FIXED_HOLIDAYS = {(1, 1), *((5, d) for d in range(1, 6)), *((10, d) for d in range(1, 8))}


class Phase(enum.StrEnum):
    """The phases of a trading day. Opening auction (开盘集合竞价) 09:15–09:25, cancels allowed until
    09:20; orders wait 09:25–09:30; continuous trading (连续竞价) 09:30–11:30 and 13:00–14:57; the
    closing auction (收盘集合竞价) 14:57–15:00 takes no cancels."""

    closed = "closed"
    opening_auction = "opening_auction"
    opening_auction_no_cancel = "opening_auction_no_cancel"
    pre_open = "pre_open"  # 09:25–09:30: orders accepted, nothing matched
    continuous = "continuous"
    lunch_break = "lunch_break"
    closing_auction = "closing_auction"


_PHASES: tuple[tuple[dt.time, Phase], ...] = (
    (dt.time(9, 15), Phase.opening_auction),
    (dt.time(9, 20), Phase.opening_auction_no_cancel),
    (dt.time(9, 25), Phase.pre_open),
    (dt.time(9, 30), Phase.continuous),
    (dt.time(11, 30), Phase.lunch_break),
    (dt.time(13, 0), Phase.continuous),
    (dt.time(14, 57), Phase.closing_auction),
    (dt.time(15, 0), Phase.closed),
)


@functools.lru_cache(maxsize=1)
def _recorded() -> tuple[frozenset[dt.date], dt.date, dt.date]:
    import exchange_calendars

    with warnings.catch_warnings():  # the library's own use of a pandas API pandas is retiring
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        calendar = exchange_calendars.get_calendar("XSHG")
    sessions = frozenset(ts.date() for ts in calendar.sessions)
    return sessions, calendar.first_session.date(), calendar.last_session.date()


def recorded_through() -> dt.date:
    """The last date whose trading status comes from the exchange's published holidays."""
    return _recorded()[2]


def is_trading_day(day: dt.date) -> bool:
    sessions, first, last = _recorded()
    if first <= day <= last:
        return day in sessions
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def next_trading_day(day: dt.date) -> dt.date:
    """The first trading day after `day` (T+1 settlement's next day)."""
    following = day + dt.timedelta(days=1)
    while not is_trading_day(following):
        following += dt.timedelta(days=1)
    return following


def trading_days_before(day: dt.date, count: int) -> list[dt.date]:
    """The `count` trading days before `day`, not counting it, oldest first (前N个交易日)."""
    found: list[dt.date] = []
    earlier = day
    while len(found) < count:
        earlier -= dt.timedelta(days=1)
        if is_trading_day(earlier):
            found.append(earlier)
    return found[::-1]


def trading_days_between(first: dt.date, last: dt.date) -> int:
    """Trading days from `first` through `last`, both included (0 if last is before first)."""
    count, day = 0, first
    while day <= last:
        count += is_trading_day(day)
        day += dt.timedelta(days=1)
    return count


def stage_at(moment: dt.datetime) -> int:
    """How many of the day's phase changes have happened by a China-time moment: 0 before 09:15
    (and all day on a non-trading day), 8 from 15:00. Phases repeat (continuous, closed); stages
    do not, which is what a simulator moving through the day needs."""
    if not is_trading_day(moment.date()):
        return 0
    return bisect.bisect_right([starts for starts, _ in _PHASES], moment.time())


CLOSED_FOR_THE_DAY = len(_PHASES)


def opens_at(day: dt.date) -> dt.datetime:
    """When `day`'s first phase (the opening auction, 09:15) starts, China time without a zone."""
    return dt.datetime.combine(day, _PHASES[0][0])


def closes_at(day: dt.date) -> dt.datetime:
    """When `day`'s trading ends (15:00, after the closing auction), China time without a zone."""
    return dt.datetime.combine(day, _PHASES[-1][0])


def phase_of(stage: int) -> Phase:
    return _PHASES[stage - 1][1] if stage else Phase.closed


def phase_at(moment: dt.datetime) -> Phase:
    """The market's phase at a China-time moment (closed all day on a non-trading day)."""
    return phase_of(stage_at(moment))


def accepts_cancel(phase: Phase) -> bool:
    """No cancels in the last five minutes of the opening auction nor in the closing auction."""
    return phase in (Phase.opening_auction, Phase.pre_open, Phase.continuous)


def accepts_orders(phase: Phase) -> bool:
    return phase not in (Phase.closed, Phase.lunch_break)


def accepts_market_orders(phase: Phase) -> bool:
    """Market orders only in continuous trading."""
    return phase is Phase.continuous
