"""A fresh demo's platform day starts in an A-share trading session, whatever the hour in Beijing when it is made."""

from __future__ import annotations

import datetime as dt

import pytest

from puhui import clock
from puhui.db import reading
from puhui.demo_market import session_start, start_the_day
from puhui.sandbox import service as sandbox

CHINA = clock.CHINA


FRIDAY, SATURDAY, MONDAY = dt.date(2026, 12, 4), dt.date(2026, 12, 5), dt.date(2026, 12, 7)


def china(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CHINA)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (china(FRIDAY, 0, 8), china(FRIDAY, 9, 30)),  # before the open of a trading day: its open
        (china(FRIDAY, 9, 29), china(FRIDAY, 9, 30)),
        (china(FRIDAY, 9, 30), None),  # in a session: now
        (china(FRIDAY, 11, 29), None),
        (china(FRIDAY, 11, 30), china(FRIDAY, 13, 0)),  # the lunch break: the afternoon session
        (china(FRIDAY, 14, 29), None),
        (china(FRIDAY, 14, 30), china(MONDAY, 9, 30)),  # too little left: the next trading day's open
        (china(SATURDAY, 0, 42), china(MONDAY, 9, 30)),  # the weekend
        (china(dt.date(2026, 12, 31), 23, 30), china(dt.date(2027, 1, 4), 9, 30)),  # New Year's Day closed
    ],
)
def test_the_day_starts_in_a_trading_session_when_made_outside_one(local, expected):
    assert session_start(local.astimezone(clock.UTC)) == expected


def _wall_at(local: dt.datetime) -> clock.ManualClock:
    return clock.ManualClock(local.astimezone(clock.UTC))


def test_a_fresh_demo_made_at_midnight_moves_its_platform_clock_to_the_open(engine):
    wall = _wall_at(china(FRIDAY, 0, 8))
    with clock.using(wall):
        moved = start_the_day(engine)
        try:
            assert moved == china(FRIDAY, 9, 30)
            assert clock.now() == moved  # the platform follows the database's offset at once
            assert clock.business_date() == FRIDAY
            with reading(engine) as connection:
                assert sandbox.read_offset(connection) == dt.timedelta(hours=9, minutes=22)
            assert start_the_day(engine) is None  # found with an offset: the demo keeps its clock
        finally:
            clock.install(wall)


def test_a_fresh_demo_made_in_a_session_keeps_the_real_time(engine):
    wall = _wall_at(china(FRIDAY, 10, 0))
    with clock.using(wall):
        try:
            assert start_the_day(engine) is None
            with reading(engine) as connection:
                assert sandbox.read_offset(connection) == dt.timedelta(0)
        finally:
            clock.install(wall)
