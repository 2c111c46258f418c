"""The clock: ManualClock moves only forward, micros conversions are exact, business date is CST."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from puhui import clock
from puhui.clock import CHINA, UTC, ManualClock, SystemClock

EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICRO = dt.timedelta(microseconds=1)

aware_datetimes = st.datetimes(
    min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.timezones()
)
# Micros whose datetime is representable (years 1..9999) after any UTC offset.
micros = st.integers(
    min_value=(dt.datetime(2, 1, 1, tzinfo=UTC) - EPOCH) // ONE_MICRO,
    max_value=(dt.datetime(9998, 12, 31, tzinfo=UTC) - EPOCH) // ONE_MICRO,
)


# --- ManualClock ----------------------------------------------------------------------------------


def test_manual_clock_starts_at_a_fixed_aware_utc_instant() -> None:
    manual = ManualClock()
    assert manual.now() == dt.datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
    assert manual.now().utcoffset() == dt.timedelta(0)
    assert manual.now() == manual.now()  # does not move on its own


def test_manual_clock_start_is_normalized_to_utc() -> None:
    manual = ManualClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=CHINA))
    assert manual.now() == dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert manual.now().tzinfo is UTC


def test_manual_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError):
        ManualClock(dt.datetime(2026, 1, 5))


def test_advance_moves_forward_and_returns_the_new_time() -> None:
    manual = ManualClock()
    start = manual.now()
    assert manual.advance(dt.timedelta(hours=1)) == start + dt.timedelta(hours=1)
    assert manual.advance(minutes=30, seconds=5) == start + dt.timedelta(hours=1, minutes=30, seconds=5)
    assert manual.advance(dt.timedelta(0)) == manual.now()
    assert manual.advance(days=1) == start + dt.timedelta(days=1, hours=1, minutes=30, seconds=5)


@pytest.mark.parametrize("backwards", [dict(delta=dt.timedelta(microseconds=-1)), dict(seconds=-1), dict(days=-1)])
def test_advance_never_moves_backwards(backwards: dict) -> None:
    manual = ManualClock()
    before = manual.now()
    with pytest.raises(ValueError):
        manual.advance(**backwards)
    assert manual.now() == before


def test_set_moves_forward_in_any_timezone() -> None:
    manual = ManualClock()
    manual.set(dt.datetime(2026, 1, 6, 9, 0, tzinfo=CHINA))
    assert manual.now() == dt.datetime(2026, 1, 6, 1, 0, tzinfo=UTC)
    assert manual.now().tzinfo is UTC
    manual.set(manual.now())  # setting the same instant is fine
    with pytest.raises(ValueError):
        manual.set(manual.now() - ONE_MICRO)
    assert manual.now() == dt.datetime(2026, 1, 6, 1, 0, tzinfo=UTC)


def test_set_refuses_a_naive_datetime() -> None:
    """Like the constructor and `to_micros`: a naive datetime would be read in the machine's local zone."""
    manual = ManualClock()
    before = manual.now()
    with pytest.raises(ValueError):
        manual.set(dt.datetime(2030, 1, 1))
    assert manual.now() == before


def test_manual_clock_is_thread_safe() -> None:
    manual = ManualClock()
    start = manual.now()
    threads, steps = 8, 2000
    seen: list[list[dt.datetime]] = [[] for _ in range(threads)]

    def worker(i: int) -> None:
        for _ in range(steps):
            seen[i].append(manual.advance(microseconds=1))

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert manual.now() == start + threads * steps * ONE_MICRO
    every = [when for per_thread in seen for when in per_thread]
    assert len(set(every)) == threads * steps  # each advance got its own instant
    assert all(a < b for per_thread in seen for a, b in zip(per_thread, per_thread[1:]))


class ManualClockMachine(RuleBasedStateMachine):
    """Whatever sequence of advance/set calls, the clock never reads earlier than before, and a
    call is refused exactly when it would move the clock backwards (leaving it unchanged)."""

    @initialize(start=aware_datetimes)
    def start(self, start: dt.datetime) -> None:
        self.clock = ManualClock(start)
        self.model = start.astimezone(UTC)
        self.last_read = self.clock.now()

    @rule(delta=st.timedeltas(min_value=dt.timedelta(days=-3), max_value=dt.timedelta(days=3)))
    def advance(self, delta: dt.timedelta) -> None:
        if delta < dt.timedelta(0):
            with pytest.raises(ValueError):
                self.clock.advance(delta)
        else:
            self.model += delta
            assert self.clock.advance(delta) == self.model

    @rule(seconds=st.integers(min_value=0, max_value=86_400))
    def advance_by_keyword(self, seconds: int) -> None:
        self.model += dt.timedelta(seconds=seconds)
        assert self.clock.advance(seconds=seconds) == self.model

    @rule(offset=st.timedeltas(min_value=dt.timedelta(days=-3), max_value=dt.timedelta(days=3)), zone=st.timezones())
    def set(self, offset: dt.timedelta, zone: dt.tzinfo) -> None:
        when = (self.model + offset).astimezone(zone)
        if when < self.model:
            with pytest.raises(ValueError):
                self.clock.set(when)
        else:
            self.clock.set(when)
            self.model = when.astimezone(UTC)

    @invariant()
    def never_backwards(self) -> None:
        now = self.clock.now()
        assert now == self.model
        assert now >= self.last_read
        assert now.utcoffset() == dt.timedelta(0)
        self.last_read = now


TestManualClockNeverMovesBackwards = ManualClockMachine.TestCase


# --- micros ----------------------------------------------------------------------------------------


def test_micros_examples() -> None:
    assert clock.to_micros(EPOCH) == 0
    assert clock.to_micros(dt.datetime(1970, 1, 1, 8, tzinfo=CHINA)) == 0
    assert clock.to_micros(dt.datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005
    assert clock.to_micros(dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == -1
    assert clock.from_micros(-1) == dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert clock.to_micros(dt.datetime(2026, 1, 5, 1, 30, tzinfo=UTC)) == 1_767_576_600_000_000


def test_to_micros_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        clock.to_micros(dt.datetime(2026, 1, 5))


@given(aware_datetimes)
def test_to_micros_agrees_with_timedelta_division(when: dt.datetime) -> None:
    assert clock.to_micros(when) == (when - EPOCH) // ONE_MICRO


@given(micros)
def test_micros_round_trip(value: int) -> None:
    when = clock.from_micros(value)
    assert when.utcoffset() == dt.timedelta(0)
    assert clock.to_micros(when) == value


@given(aware_datetimes)
def test_datetime_round_trip_through_micros(when: dt.datetime) -> None:
    # Compare in UTC: Python never finds an ambiguous local time (a DST fold) equal to a time in
    # another zone, even when both name the same instant.
    assert clock.from_micros(clock.to_micros(when)) == when.astimezone(dt.UTC)


@given(aware_datetimes, aware_datetimes)
def test_to_micros_preserves_order(a: dt.datetime, b: dt.datetime) -> None:
    assert (a < b) == (clock.to_micros(a) < clock.to_micros(b))


# --- installed clock, business date -----------------------------------------------------------------


def test_the_clock_fixture_installs_a_manual_clock(clock: ManualClock) -> None:  # noqa: F811
    from puhui import clock as module

    assert module.current() is clock
    assert module.now() == clock.now()
    clock.advance(seconds=90)
    assert module.now() == dt.datetime(2026, 1, 5, 1, 31, 30, tzinfo=UTC)
    assert module.now_micros() == module.to_micros(clock.now())


def test_install_returns_the_previous_clock_and_using_restores_it() -> None:
    original = clock.current()
    first, second = ManualClock(), ManualClock(dt.datetime(2030, 1, 1, tzinfo=UTC))
    with clock.using(first):
        assert clock.now() == first.now()
        previous = clock.install(second)
        assert previous is first
        assert clock.now() == dt.datetime(2030, 1, 1, tzinfo=UTC)
        assert clock.install(previous) is second
    assert clock.current() is original


def test_using_restores_the_clock_after_an_error() -> None:
    original = clock.current()
    with pytest.raises(RuntimeError):
        with clock.using(ManualClock()):
            raise RuntimeError("boom")
    assert clock.current() is original


def test_system_clock_is_aware_utc_and_close_to_the_wall() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == dt.timedelta(0)
    assert abs(now - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)


@pytest.mark.parametrize(
    ("utc", "business"),
    [
        (dt.datetime(2026, 1, 5, 1, 30, tzinfo=UTC), dt.date(2026, 1, 5)),
        (dt.datetime(2026, 1, 5, 15, 59, 59, 999_999, tzinfo=UTC), dt.date(2026, 1, 5)),
        (dt.datetime(2026, 1, 5, 16, 0, tzinfo=UTC), dt.date(2026, 1, 6)),  # midnight in Beijing
        (dt.datetime(2025, 12, 31, 16, 0, tzinfo=UTC), dt.date(2026, 1, 1)),
    ],
)
def test_business_date_is_china_standard_time(utc: dt.datetime, business: dt.date) -> None:
    with clock.using(ManualClock(utc)):
        assert clock.business_date() == business


@given(st.datetimes(min_value=dt.datetime(1992, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_business_date_is_utc_plus_eight(when: dt.datetime) -> None:
    # China has observed UTC+8 without daylight saving since 1991.
    with clock.using(ManualClock(when)):
        assert clock.business_date() == (when + dt.timedelta(hours=8)).date()


# --- China days: midnight, bounds, the date of a time ----------------------------------------------

MICRO = 1
DAY_MICROS = 86_400_000_000
china_days = st.dates(min_value=dt.date(1992, 1, 1), max_value=dt.date(2200, 1, 1))


@pytest.mark.parametrize(
    ("day", "utc_start"),
    [
        (dt.date(2026, 1, 5), dt.datetime(2026, 1, 4, 16, tzinfo=UTC)),  # the UTC date is the day before
        (dt.date(2026, 1, 1), dt.datetime(2025, 12, 31, 16, tzinfo=UTC)),  # and the UTC year too
        (dt.date(2026, 3, 8), dt.datetime(2026, 3, 7, 16, tzinfo=UTC)),  # US clocks change; China's do not
        (dt.date(2026, 3, 29), dt.datetime(2026, 3, 28, 16, tzinfo=UTC)),  # nor when Europe's do
        (dt.date(2028, 2, 29), dt.datetime(2028, 2, 28, 16, tzinfo=UTC)),
    ],
)
def test_a_china_day_starts_at_1600_utc_the_day_before(day: dt.date, utc_start: dt.datetime) -> None:
    midnight = clock.china_midnight(day)
    assert midnight.tzinfo is CHINA and (midnight.date(), midnight.time()) == (day, dt.time())
    assert midnight == utc_start
    start, end = clock.day_bounds(day)
    assert (start, end) == (clock.to_micros(utc_start), clock.to_micros(utc_start + dt.timedelta(days=1)))
    assert clock.china_date(start) == day and clock.china_date(end - MICRO) == day
    assert clock.china_date(start - MICRO) == day - dt.timedelta(days=1)
    assert clock.china_date(end) == day + dt.timedelta(days=1)


def test_the_china_date_of_an_aware_datetime_in_any_zone() -> None:
    assert clock.china_date(dt.datetime(2026, 1, 5, 15, 59, 59, 999_999, tzinfo=UTC)) == dt.date(2026, 1, 5)
    assert clock.china_date(dt.datetime(2026, 1, 5, 16, tzinfo=UTC)) == dt.date(2026, 1, 6)
    new_york = dt.timezone(dt.timedelta(hours=-5))
    assert clock.china_date(dt.datetime(2026, 1, 5, 11, tzinfo=new_york)) == dt.date(2026, 1, 6)
    assert clock.china_date(dt.datetime(2026, 1, 6, 0, 30, tzinfo=CHINA)) == dt.date(2026, 1, 6)


def test_the_china_date_of_a_naive_datetime_is_refused() -> None:
    """A naive datetime would be read in the machine's zone, whatever that is."""
    with pytest.raises(ValueError):
        clock.china_date(dt.datetime(2026, 1, 5, 23, 30))


@given(china_days)
def test_china_days_tile_time_without_gaps_or_overlaps(day: dt.date) -> None:
    start, end = clock.day_bounds(day)
    assert end - start == DAY_MICROS  # UTC+8 all year: no 23- or 25-hour days
    assert clock.day_bounds(day + dt.timedelta(days=1))[0] == end
    assert clock.to_micros(clock.china_midnight(day)) == start


@given(china_days, st.integers(min_value=0, max_value=DAY_MICROS - 1))
def test_every_micro_of_a_china_day_maps_back_to_it(day: dt.date, into: int) -> None:
    start, end = clock.day_bounds(day)
    when = start + into
    assert start <= when < end
    assert clock.china_date(when) == day
    assert clock.china_date(clock.from_micros(when)) == day
    with clock.using(ManualClock(clock.from_micros(when))):
        assert clock.business_date() == day
