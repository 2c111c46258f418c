"""The clock: the only source of time in Puhui.

Code calls `puhui.clock.now()`; tests and the simulator install a `ManualClock` and move it.
Business dates (accrual, T+1, overdue days) are taken in China Standard Time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Protocol
from zoneinfo import ZoneInfo

UTC = dt.UTC
CHINA = ZoneInfo("Asia/Shanghai")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told; thread-safe."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta | None = None, **kwargs: float) -> dt.datetime:
        delta = delta if delta is not None else dt.timedelta(**kwargs)
        if delta < dt.timedelta(0):
            raise ValueError("the clock never moves backwards")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: dt.datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        with self._lock:
            if when.astimezone(UTC) < self._now:
                raise ValueError("the clock never moves backwards")
            self._now = when.astimezone(UTC)


_clock: Clock = SystemClock()


def now() -> dt.datetime:
    """Aware UTC now from the installed clock."""
    return _clock.now()


def now_micros() -> int:
    """Now as integer microseconds since the Unix epoch (how timestamps are stored)."""
    return to_micros(now())


def to_micros(when: dt.datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("naive datetimes are not accepted; give a timezone")
    delta = when - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=micros)


def iso(micros: int | None) -> str | None:
    """Stored microseconds as the API shows every time: ISO 8601 with its offset (UTC)."""
    return None if micros is None else from_micros(micros).isoformat()


def micros_of(value: int | str) -> int:
    """A time as stored microseconds, from microseconds or ISO 8601 with an offset (older event payloads
    carry the former, the wire the latter)."""
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    return to_micros(dt.datetime.fromisoformat(str(value)))


def business_date() -> dt.date:
    """Today's business date (营业日) in China Standard Time."""
    return now().astimezone(CHINA).date()


DAY_MICROS = 86_400_000_000


def china_midnight(day: dt.date) -> dt.datetime:
    """The start (零点) of a China date, aware in China Standard Time."""
    return dt.datetime.combine(day, dt.time(), tzinfo=CHINA)


def day_bounds(day: dt.date) -> tuple[int, int]:
    """A China business date (营业日) as stored microseconds, [start, end): China midnight to the next
    (9999-12-31 has no next date: it ends 24 hours later, as every China day has since 1991)."""
    start = to_micros(china_midnight(day))
    if day == dt.date.max:
        return start, start + DAY_MICROS
    return start, to_micros(china_midnight(day + dt.timedelta(days=1)))


def china_date(when: int | dt.datetime) -> dt.date:
    """The China date of a time: stored microseconds or an aware datetime."""
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; give a timezone")
        return when.astimezone(CHINA).date()
    return from_micros(when).astimezone(CHINA).date()


def install(clock: Clock) -> Clock:
    """Install `clock` process-wide; returns the previous one."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def current() -> Clock:
    return _clock


@contextlib.contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)
