"""Trading calendar (交易日历): weekends and exchange holidays, the 15:00 cut-off, T+n.

Holidays are data (`HOLIDAYS`, the weekday closures announced by the exchanges for the years
listed); weekends are always closed. Make-up working weekends (调休) are not trading days on the
exchanges, so they need no entry.
"""

from __future__ import annotations

import datetime as dt

from puhui import clock

CUTOFF = dt.time(15, 0)  # orders at or after 15:00 China time belong to the next trading day

_CLOSURES = {
    2025: [
        "01-01",
        "01-28",
        "01-29",
        "01-30",
        "01-31",
        "02-03",
        "02-04",
        "04-04",
        "05-01",
        "05-02",
        "05-05",
        "06-02",
        "10-01",
        "10-02",
        "10-03",
        "10-06",
        "10-07",
        "10-08",
    ],
    2026: [
        "01-01",
        "01-02",
        "02-16",
        "02-17",
        "02-18",
        "02-19",
        "02-20",
        "02-23",
        "04-06",
        "05-01",
        "05-04",
        "05-05",
        "06-19",
        "09-25",
        "10-01",
        "10-02",
        "10-05",
        "10-06",
        "10-07",
    ],
    2027: [
        "01-01",
        "02-08",
        "02-09",
        "02-10",
        "02-11",
        "02-12",
        "04-05",
        "05-03",
        "05-04",
        "05-05",
        "06-09",
        "09-15",
        "10-01",
        "10-04",
        "10-05",
        "10-06",
        "10-07",
    ],
}
HOLIDAYS: frozenset[dt.date] = frozenset(
    dt.date.fromisoformat(f"{year}-{day}") for year, days in _CLOSURES.items() for day in days
)


def is_trading_day(day: dt.date, holidays: frozenset[dt.date] = HOLIDAYS) -> bool:
    return day.weekday() < 5 and day not in holidays


def next_trading_day(day: dt.date, holidays: frozenset[dt.date] = HOLIDAYS) -> dt.date:
    """The first trading day strictly after `day`."""
    day += dt.timedelta(days=1)
    while not is_trading_day(day, holidays):
        day += dt.timedelta(days=1)
    return day


def add_trading_days(day: dt.date, n: int, holidays: frozenset[dt.date] = HOLIDAYS) -> dt.date:
    """T+n: the n-th trading day after trading day `day` (n = 0 gives `day` itself)."""
    for _ in range(n):
        day = next_trading_day(day, holidays)
    return day


def trade_date(at_micros: int, holidays: frozenset[dt.date] = HOLIDAYS) -> dt.date:
    """The trading day (T) an order placed at `at_micros` belongs to: that day when it is a trading
    day and the order came before 15:00 China time, the next trading day otherwise."""
    local = clock.from_micros(at_micros).astimezone(clock.CHINA)
    day = local.date()
    if is_trading_day(day, holidays) and local.time() < CUTOFF:
        return day
    return next_trading_day(day, holidays)
