"""Where the funds' end of day finds NAVs nobody uploaded: the sandbox's simulated fund managers.

In production a fund's NAV (净值) comes from its manager, in a NAV file (`nav_files`), and an order
waits (`waiting_for_nav`) until its trade date's NAV is on record. In the sandbox and the demo no
manager sends files, so fund orders would never confirm. There the end of day takes a `NavSource`:
for each fund, every closed trading day (its 15:00 cut-off passed, `calendar.trade_date`) after the
fund's last NAV, through the day being run, gets a NAV by a random walk from the previous one,
each step drawn from a generator seeded by (seed, fund code, date), so a re-run gives the same NAV.
A NAV already on record (an uploaded file) is never replaced. Nothing is invented for a fund on a date
before it existed: not before the China date it was created, not on or before a date whose NAVs on
record all come after it (its series began later), and, on a re-run of a date the end of day already
ran, not for a fund created after that run (it was not there to be valued that day). Only `sandbox_navs` with
`Settings.sandbox` on hands one out: outside the sandbox nothing is invented.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from sqlalchemy import select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.settings import Settings
from puhui.wealth import calendar
from puhui.wealth.funds.tables import fund_navs, fund_products

PAR = 10_000  # 1.0000 yuan: a fund's first NAV (面值) in 1/10000 yuan
FLOOR = 1_000  # a simulated NAV never falls under 0.1000
MAX_DAYS = 366  # at most this many natural days of NAVs filled at once (`eod.runs.MAX_DAYS`)


class NavSource(Protocol):
    def nav_e4(self, fund_code: str, risk: int, day: dt.date, previous_e4: int) -> int:
        """The NAV of `fund_code` on trading day `day`, in 1/10000 yuan, after `previous_e4`."""
        ...


@dataclass(frozen=True)
class SimulatedNavs:
    """A seeded random walk: each trading day's return ~ N(drift, sd × risk level); riskier funds swing more."""

    seed: int = 2026
    drift: float = 0.0003
    sd_per_risk: float = 0.003

    def daily_return(self, fund_code: str, risk: int, day: dt.date) -> Decimal:
        draw = random.Random(f"{self.seed}:{fund_code}:{day.isoformat()}").gauss(
            self.drift, self.sd_per_risk * max(1, risk)
        )
        return Decimal(str(round(draw, 8)))

    def nav_e4(self, fund_code: str, risk: int, day: dt.date, previous_e4: int) -> int:
        moved = (Decimal(previous_e4) * (1 + self.daily_return(fund_code, risk, day))).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        return max(FLOOR, int(moved))


def sandbox_navs(settings: Settings, seed: int = 2026) -> NavSource | None:
    """The simulated managers when the platform runs as the sandbox (the demo's settings too); else None."""
    return SimulatedNavs(seed=seed) if settings.sandbox else None


def closed(day: dt.date) -> bool:
    """A trading day whose NAV can be known now: its 15:00 cut-off has passed on the platform clock."""
    return calendar.is_trading_day(day) and day < calendar.trade_date(clock.now_micros())


def publish(uow: UnitOfWork, day: dt.date, source: NavSource, ran_at: int | None = None) -> int:
    """Record the NAVs of every fund for the closed trading days after its last NAV on or before `day`,
    through `day` (a fund without any starts at par on `day`, or on the date it was created if later);
    the caller holds the funds' locks. `ran_at`: when the end of day first ran `day` (µs), for a re-run:
    a fund created since gets nothing on or before `day`. How many were recorded."""
    recorded, now = 0, clock.now_micros()
    funds = select(fund_products.c.code, fund_products.c.risk, fund_products.c.created_at)
    for code, risk, created_at in uow.execute(funds.order_by(fund_products.c.code)):
        if ran_at is not None and created_at >= ran_at:
            continue  # created after `day` ran: it had no NAV to be known that day
        last = uow.execute(
            select(fund_navs.c.nav_date, fund_navs.c.nav)
            .where(fund_navs.c.fund_code == code, fund_navs.c.nav_date <= day.isoformat())
            .order_by(fund_navs.c.nav_date.desc())
            .limit(1)
        ).first()
        if (
            last is None
            and uow.execute(
                select(fund_navs.c.nav_date).where(
                    fund_navs.c.fund_code == code, fund_navs.c.nav_date > day.isoformat()
                )
            ).first()
        ):
            continue  # its NAVs begin after `day`: nothing before them
        previous = int(last[1]) if last else PAR
        start = dt.date.fromisoformat(last[0]) + dt.timedelta(days=1) if last else day
        start = max(start, day - dt.timedelta(days=MAX_DAYS - 1), clock.china_date(int(created_at)))
        current = start
        while current <= day:
            if closed(current):  # nothing is on record after `last` up to `day`
                previous = source.nav_e4(code, int(risk), current, previous)
                uow.execute(
                    fund_navs.insert().values(
                        fund_code=code, nav_date=current.isoformat(), nav=previous, recorded_at=now
                    )
                )
                recorded += 1
            current += dt.timedelta(days=1)
    return recorded
