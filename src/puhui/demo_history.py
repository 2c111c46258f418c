"""The demo people's past (消费记录): twelve weeks of everyday spending before the demo's simulated days.

A person trying the demo logs in as one of its customers. Seeded the moment the demo starts, each had two
small QR payments and nothing else, at merchants opened that minute; risk control rightly found a pay-later
purchase of a few hundred CNY unusual for such a customer (its fraud score weighs the amount against the
payer's 91-day mean, how much history the payer has and how long the payee has traded) and held it. So the
demo people and the demo merchants begin `HISTORY_WEEKS` before the simulated days, as real ones would: each
person tops up the wallet from the bank card each month (工资到账后充值) and pays the demo shops two or three
times a week — meals, groceries, a book, and now and then a larger buy — in the daytime, China time. With
that history the same rules see an ordinary purchase of a few hundred to a couple of thousand CNY as normal.

All of it goes through the real API on a `ManualClock` moved from payment to payment, with the fraud checks
on and their windows caught up before each payment: the history passes the same rules as any payment.
That clock reads platform time (平台时间) itself: the history's dates are the platform's. In the sandbox the
seeding app would take any other installed clock for the wall clock and add the sandbox clock's offset on top
(`puhui.app._sandbox`), so the past is installed as the sandbox clock (`PlatformPast`), offset and all
already counted — otherwise a demo started at 16:26 China time, its clock moved 17:04 ahead to the next
morning's open, laid every payment of the past 17:04 late, at night (02:00–05:00), the dates a day late.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine

from puhui import clock
from puhui.sandbox.service import SandboxClock

HISTORY_WEEKS = 12
TOP_UP_EVERY = 28  # days between the monthly top-ups (月度充值)
TOP_UP = "5000.00"  # each month's top-up: more than a month of the person's spending
SEED = 2024
EVERYDAY = ("18.50", "26.00", "32.80", "45.00", "58.60", "66.00", "88.00", "98.50", "126.00", "158.00")
LARGER = ("299.00", "459.00", "699.00", "899.00", "1299.00", "1899.00")  # clothes, a gift, a small appliance
HOURS = (9, 11, 12, 15, 18, 19)  # China time: the day's shopping hours, never the night
TOP_UP_TIME = dt.time(10)  # China time


@dataclass(frozen=True)
class Purchase:
    """One everyday payment of the past: who paid which demo shop how much (CNY), and when."""

    at: dt.datetime
    person: int
    shop: int
    amount: str


def history_start(until: dt.date) -> dt.datetime:
    """When the history begins: 10:00 China time `HISTORY_WEEKS` weeks before `until`."""
    first = until - dt.timedelta(weeks=HISTORY_WEEKS)
    return top_up_at(first)


def top_up_days(until: dt.date) -> list[dt.date]:
    """The days each person tops up the wallet: the history's first day, then every `TOP_UP_EVERY` days."""
    first = history_start(until).date()
    return [first + dt.timedelta(days=d) for d in range(0, (until - first).days, TOP_UP_EVERY)]


def top_up_at(day: dt.date) -> dt.datetime:
    """When a top-up day's top-ups are ordered: 10:00 China time (the bank settles them moments later)."""
    return dt.datetime.combine(day, TOP_UP_TIME, tzinfo=clock.CHINA)


def purchases(until: dt.date, people: int, shops: int) -> list[Purchase]:
    """Every person's payments from the history's second day to the day before `until`, in time order
    (deterministic): one every two or three days in the shopping hours, every fourth a larger buy (the
    larger ones in turn, so each person's mean is a few hundred CNY, as a regular shopper's is)."""
    rng = random.Random(SEED)
    first = history_start(until).date() + dt.timedelta(days=1)
    made = []
    for person in range(people):
        day, n = first + dt.timedelta(days=person % 3), 0
        while day < until:
            at = dt.datetime.combine(day, dt.time(rng.choice(HOURS), rng.randrange(60)), tzinfo=clock.CHINA)
            larger = LARGER[(person + n // 4) % len(LARGER)]
            amount = larger if n % 4 == 3 else rng.choice(EVERYDAY)
            made.append(Purchase(at, person, rng.randrange(shops), amount))
            day, n = day + dt.timedelta(days=rng.choice((2, 3, 3))), n + 1
    return sorted(made, key=lambda p: (p.at, p.person))


def mean_of(until: dt.date, people: int, shops: int) -> dict[int, Decimal]:
    """Each person's mean payment over the history (CNY): what the fraud score's norm starts from."""
    spent: dict[int, list[Decimal]] = {}
    for p in purchases(until, people, shops):
        spent.setdefault(p.person, []).append(Decimal(p.amount))
    return {person: sum(amounts, Decimal(0)) / len(amounts) for person, amounts in spent.items()}


Pay = Callable[[Purchase], None]
TopUp = Callable[[dt.date], None]


def live_history(manual: clock.ManualClock, until: dt.date, people: int, shops: int, top_up: TopUp, pay: Pay) -> int:
    """Move `manual` through the history, topping up every wallet on each top-up day (`top_up(day)`, at
    10:00) and making each purchase at its time (`pay`); returns how many payments were made. A purchase
    before 10:00 on a top-up day comes before that day's top-up, at its own time."""
    ups = top_up_days(until)
    made = 0
    for purchase in purchases(until, people, shops):
        while ups and top_up_at(ups[0]) <= purchase.at:
            _move(manual, top_up_at(ups[0]))
            top_up(ups.pop(0))
        _move(manual, purchase.at)
        pay(purchase)
        made += 1
    return made


class PlatformPast(SandboxClock):
    """The past on the platform's clock: `manual` reads platform time already, so no offset goes on top.
    Installed as the sandbox clock, it is the one the seeding app takes (`puhui.app._sandbox` wraps any
    other clock in the database's offset, a second time for a clock set in platform time)."""

    def __init__(self, engine: Engine, manual: clock.ManualClock) -> None:
        super().__init__(engine, base=manual)

    def adopt(self, offset: dt.timedelta) -> None:
        """The database's offset is in `manual`'s reading already: nothing to adopt."""


@contextlib.contextmanager
def in_the_past(engine: Engine, manual: clock.ManualClock) -> Iterator[clock.ManualClock]:
    """`manual` (platform time) installed process-wide as the platform clock for the seeding of the past,
    in or out of the sandbox; the previous clock comes back after."""
    with clock.using(PlatformPast(engine, manual)):
        yield manual


def _move(manual: clock.ManualClock, to: dt.datetime) -> None:
    """Forward to `to` (never back: a top-up's bank settlement may have moved the clock past it)."""
    if to > manual.now():
        manual.set(to)
