"""A fresh demo's platform day starts in business hours, whatever the hour in Beijing when it is made."""

from __future__ import annotations

import datetime as dt

import pytest

from puhui import clock
from puhui.db import reading
from puhui.demo_market import business_hours_start, start_the_day
from puhui.sandbox import service as sandbox

CHINA = clock.CHINA


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (dt.datetime(2026, 12, 5, 0, 8, tzinfo=CHINA), dt.datetime(2026, 12, 5, 9, 0, tzinfo=CHINA)),
        (dt.datetime(2026, 12, 5, 8, 59, tzinfo=CHINA), dt.datetime(2026, 12, 5, 9, 0, tzinfo=CHINA)),
        (dt.datetime(2026, 12, 5, 9, 0, tzinfo=CHINA), None),
        (dt.datetime(2026, 12, 5, 20, 59, tzinfo=CHINA), None),
        (dt.datetime(2026, 12, 5, 21, 0, tzinfo=CHINA), dt.datetime(2026, 12, 6, 9, 0, tzinfo=CHINA)),
        (dt.datetime(2026, 12, 31, 23, 30, tzinfo=CHINA), dt.datetime(2027, 1, 1, 9, 0, tzinfo=CHINA)),
    ],
)
def test_the_day_starts_at_nine_china_time_when_made_outside_business_hours(local, expected):
    assert business_hours_start(local.astimezone(clock.UTC)) == expected


def _wall_at(local: dt.datetime) -> clock.ManualClock:
    return clock.ManualClock(local.astimezone(clock.UTC))


def test_a_fresh_demo_made_at_midnight_moves_its_platform_clock_to_the_morning(engine):
    wall = _wall_at(dt.datetime(2026, 12, 5, 0, 8, tzinfo=CHINA))
    with clock.using(wall):
        moved = start_the_day(engine)
        try:
            assert moved == dt.datetime(2026, 12, 5, 9, 0, tzinfo=CHINA)
            assert clock.now() == moved  # the platform follows the database's offset at once
            assert clock.business_date() == dt.date(2026, 12, 5)
            with reading(engine) as connection:
                assert sandbox.read_offset(connection) == dt.timedelta(hours=8, minutes=52)
            assert start_the_day(engine) is None  # found with an offset: the demo keeps its clock
        finally:
            clock.install(wall)


def test_a_fresh_demo_made_in_the_afternoon_keeps_the_real_time(engine):
    wall = _wall_at(dt.datetime(2026, 12, 5, 15, 0, tzinfo=CHINA))
    with clock.using(wall):
        try:
            assert start_the_day(engine) is None
            with reading(engine) as connection:
                assert sandbox.read_offset(connection) == dt.timedelta(0)
        finally:
            clock.install(wall)
