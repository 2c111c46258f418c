"""The living market of `puhui serve --demo` (演示市场): a short simulation, the monitor and the graph
analytics over it and cases opened from the alerts, then the seeded demo world (`puhui.demo`) on the
same database — all before the server accepts a request, so the simulation's ManualClock never meets
its threads.

Once per database: a finished run in `sim_runs` means the market is there, the demo regulator in
`staff` means the world was seeded, and a second start only reads them back. The simulated days (from
2026-03-02) lie in the past of the real clock, so the
analytics run on a ManualClock at the run's last instant: alerts and cases are dated inside the
simulated range the dashboard URL shows, not at the real time of the start.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, Engine

from puhui import clock
from puhui.db import reading, transaction
from puhui.demo import SEEDED, plural
from puhui.securities import calendar
from puhui.settings import Settings
from puhui.sim import analysis

DEMO_CUSTOMERS, DEMO_DAYS, DEMO_SEED = 200, 14, 1
BUCKETS = ("current", "M1", "M2", "M3", "M3+")


@dataclass(frozen=True)
class NowFigures:
    """What the database holds at this start, read through each business form's public queries (a few
    aggregate queries): the banner tells these, not the figures of the start that built the demo."""

    customers: int
    payments: int  # QR and P2P
    top_ups: int  # completed at the bank
    withdrawals: int
    fund_subscriptions: int  # money-market fund
    loans: int  # every loan ever disbursed (active, paid off, written off)
    repayments: int

    def line(self) -> str:
        return (
            f"{plural(self.customers, 'customer')}, {plural(self.payments, 'payment')} (QR and P2P), "
            f"{plural(self.top_ups, 'top-up')}, {plural(self.withdrawals, 'withdrawal')}, "
            f"{plural(self.fund_subscriptions, 'fund subscription')}, {plural(self.loans, 'loan')}, "
            f"{plural(self.repayments, 'repayment')}"
        )


@dataclass
class DemoMarket:
    """What the simulated market left in the database, read back from it (first start or later)."""

    run_id: str
    customers: int
    days: int
    seed: int
    first: dt.date  # the first and last simulated business dates
    last: dt.date
    done: dict[str, int]  # service actions done by kind (qr payments, top-ups, loans, …)
    loans: dict[str, int]  # active loans by bucket, and written_off
    fund_yield: str | None  # the money-market fund's last seven-day annualized yield (七日年化), percent
    alerts: dict[str, int]  # by typology
    open_cases: int
    audit_ok: bool
    fresh: bool = False  # simulated at this start (False: found from an earlier one)
    seconds: float | None = None
    now: NowFigures | None = None  # the whole database at this start (simulated and seeded, and since)

    def summary(self, base: str) -> str:
        """The banner's market part: the simulated days' activity (dated: it is what those days did), then
        the figures of the database as it is at this start (loans, yield, alerts, cases, audit)."""
        loans = ", ".join(f"{b} {n:,}" for b, n in self.loans.items()) or "none"
        alerts = ", ".join(f"{t} {n:,}" for t, n in sorted(self.alerts.items())) or "none"
        took = f" in {self.seconds:.1f} s" if self.seconds is not None else " (from an earlier start)"
        span = f"from={self.first.isoformat()}&to={self.last.isoformat()}"
        done = self.done
        now = f"  now, in the whole database: {self.now.line()}\n" if self.now is not None else ""
        return (
            f"simulated market {self.run_id}: {plural(self.customers, 'customer')} × {plural(self.days, 'day')} "
            f"({self.first} to {self.last}){took}\n"
            f"  in the simulated days: {plural(done.get('qr', 0), 'QR payment')}, "
            f"{plural(done.get('top_up', 0), 'top-up')}, {plural(done.get('withdrawal', 0), 'withdrawal')}, "
            f"{plural(done.get('mmf_subscribe', 0), 'fund subscription')}, {plural(done.get('loan', 0), 'loan')}, "
            f"{plural(done.get('repayment', 0), 'repayment')}\n"
            f"{now}"
            f"  loans by bucket now: {loans}\n"
            f"  money-market fund seven-day yield (latest): {self.fund_yield + '%' if self.fund_yield else 'n/a'}\n"
            f"  alerts by typology: {alerts}  ({sum(self.alerts.values()):,} in all)\n"
            f"  open cases: {self.open_cases:,}\n"
            f"  ledger audit: {'passed' if self.audit_ok else 'FAILED'}\n"
            f"  supervision dashboard (regulator): {base}/v1/regtech/dashboard?{span}\n"
            f"  alerts: {base}/v1/regtech/alerts   cases: {base}/v1/regtech/cases   (staff token)"
        )


AS_SEEDED = "demo world as seeded at an earlier start (its counts are from then; today's are below):\n"
"""Before a saved summary of an older demo that does not say when it was seeded."""


@dataclass
class DemoStart:
    """What `prepare_demo` made or found: the seeded world (None when found) and the market."""

    market: DemoMarket
    world: object | None = None  # puhui.demo.DemoWorld, with the credentials shown once
    notes: list[str] = field(default_factory=list)

    def summary(self, base: str, credentials: str | None = None) -> str:
        """`credentials`: the seeded world's, kept from the start that seeded it (None: not kept)."""
        if self.world is not None:
            seeded = f"{self.world}\n"
        elif credentials:
            seeded = f"{credentials}\n" if credentials.startswith(SEEDED) else f"{AS_SEEDED}{credentials}\n"
        else:
            seeded = "seeded at an earlier start: its credentials were shown then\n"
        return seeded + self.market.summary(base)


def finished_run(connection) -> dict | None:
    """The latest finished simulation run in this database, if any."""
    from puhui.sim.queries import latest_finished_run

    return latest_finished_run(connection)


def analyse(engine: Engine, first: dt.date, days: int) -> dict:
    return analysis.analyse(engine, first, days, actor="demo")


def read_market(engine: Engine, run: dict) -> DemoMarket:
    from puhui.ledger.audit import audit
    from puhui.lending import queries as lending_queries
    from puhui.regtech import queries as regtech_queries
    from puhui.wealth import queries as wealth_queries

    first = dt.date.fromisoformat(run["start_date"])
    last = first + dt.timedelta(days=run["days"] - 1)
    with reading(engine) as connection:
        rows = lending_queries.loans_by_status_and_bucket(connection)
        found = {b: int(n) for s, b, n in rows if s == "active"}
        by_bucket = {b: found.pop(b) for b in BUCKETS if b in found} | found
        written_off = sum(int(n) for s, _, n in rows if s == "written_off")
        if written_off:
            by_bucket["written_off"] = written_off
        # the latest figure there is: the API's, a sandbox clock moved on since the market was simulated
        fund_yield = wealth_queries.latest_seven_day_yield(connection, dt.date.max)
        alerts = regtech_queries.alerts_by_typology(connection)
        open_cases = regtech_queries.open_cases(connection)
        audit_ok = audit(connection).ok
        now = now_figures(connection, sum(int(n) for _, _, n in rows))
    summary = json.loads(run["summary"] or "{}")
    return DemoMarket(
        run["id"],
        run["customers"],
        run["days"],
        run["seed"],
        first,
        last,
        summary.get("done", {}),
        by_bucket,
        fund_yield,
        alerts,
        int(open_cases),
        audit_ok,
        now=now,
    )


EVER = 2**62
"""An upper bound of UTC microseconds no record reaches: "all of them" for the queries taking a range."""


def now_figures(connection: Connection, loans: int) -> NowFigures:
    """The database's figures at this start, by each form's public queries (set-based, a handful of
    aggregates): customers, payments, bank top-ups and withdrawals, fund subscriptions, repayments."""
    from sqlalchemy import func, select

    from puhui.identity import queries as identity_queries
    from puhui.lending import queries as lending_queries
    from puhui.payments import queries as payment_queries
    from puhui.wealth import queries as wealth_queries

    orders = payment_queries.resolved_bank_orders()
    posted = select(orders.c.kind, func.count()).where(orders.c.status == "posted").group_by(orders.c.kind)
    bank = {str(kind): int(n) for kind, n in connection.execute(posted).all()}
    return NowFigures(
        customers=len(identity_queries.standings_as_of(connection, EVER)),
        payments=payment_queries.volume_between(connection, 0, EVER)[0],
        top_ups=int(bank.get("debit_card", 0)),
        withdrawals=int(bank.get("credit_card", 0)),
        fund_subscriptions=wealth_queries.mmf_flow(connection, 0, EVER, ["subscribe"])[0],
        loans=loans,
        repayments=lending_queries.repaid(connection, dt.date.min, dt.date.max)[0],
    )


def seeded(engine: Engine) -> bool:
    """Whether the demo world was seeded here (its regulator exists: staff are made before anyone else)."""
    from puhui.demo import STAFF
    from puhui.identity.queries import staff_handle_taken

    with reading(engine) as connection:
        return staff_handle_taken(connection, STAFF[0][1])


SESSION_OPENS, LUNCH, AFTER_LUNCH, LAST_START = dt.time(9, 30), dt.time(11, 30), dt.time(13, 0), dt.time(14, 30)


def session_start(now: dt.datetime) -> dt.datetime | None:
    """Where a fresh demo's platform clock should start (China time): `now` within an A-share trading
    session with time left in it (09:30–11:30 or 13:00–14:30 of a trading day); 13:00 from the lunch
    break; else 09:30 of the next trading day (today's, before it opens). A newcomer then meets an open
    market and the daytime: made at midnight in Beijing, their first payments met the night-time rules
    (夜间频繁交易) and a hold, and the business date could turn in the middle of the walk-through."""
    local = now.astimezone(clock.CHINA)
    day, time_of_day = local.date(), local.time()
    if calendar.is_trading_day(day):
        if SESSION_OPENS <= time_of_day < LUNCH or AFTER_LUNCH <= time_of_day < LAST_START:
            return None
        if LUNCH <= time_of_day < AFTER_LUNCH:
            return dt.datetime.combine(day, AFTER_LUNCH, tzinfo=clock.CHINA)
        if time_of_day < SESSION_OPENS:
            return dt.datetime.combine(day, SESSION_OPENS, tzinfo=clock.CHINA)
    return dt.datetime.combine(calendar.next_trading_day(day), SESSION_OPENS, tzinfo=clock.CHINA)


def start_the_day(engine: Engine) -> dt.datetime | None:
    """On a fresh demo database: move the sandbox clock into a trading session (`session_start`) and
    follow it process-wide; returns where it moved to, or None when it stayed. A demo found on disk
    keeps the clock it has."""
    from puhui.sandbox import service as sandbox

    with reading(engine) as connection:
        if finished_run(connection) is not None or sandbox.read_offset(connection):
            return None
    target = session_start(clock.now())
    if target is not None:
        transaction(engine, lambda uow: sandbox.move(uow, clock.now(), to=target))
    wall = clock.current()
    sandbox.install(engine, base=wall.base if isinstance(wall, sandbox.SandboxClock) else wall)
    return target


def prepare_demo(
    engine: Engine,
    settings: Settings | None = None,
    *,
    customers: int = DEMO_CUSTOMERS,
    days: int = DEMO_DAYS,
    seed: int = DEMO_SEED,
    on_day: Callable[[int, object], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> DemoStart:
    """Simulate the market, then seed the demo world at the real time, or find both from an earlier start.

    The market's days end yesterday (平台时间), so today's business is the day after it: loans accrued
    through yesterday, profiles with recent payments, a seven-day yield. People are sealed under the
    server's vault (`settings`), so the server reads them. Call before the server accepts requests: the
    simulation installs its own ManualClock process-wide. The order keeps the outbox in time order: the
    demo people's past (`puhui.demo_history`, the weeks before the simulated days) first, then the simulated
    days, then the seeded world (now), because the monitor's windows prune by the newest event time they
    have seen."""

    from puhui.demo import seed_demo_people, seed_demo_world
    from puhui.demo_history import HISTORY_WEEKS
    from puhui.demo_risk import ensure_model
    from puhui.identity.pii import vault_for
    from puhui.regtech.monitor import Monitor
    from puhui.sim.world import Config, simulate

    def phase(text: str) -> None:
        if on_phase is not None:
            on_phase(text)

    with reading(engine) as connection:
        run = finished_run(connection)
    seconds = None
    people = None
    if run is None:
        config = Config(customers, days, seed, start=clock.business_date() - dt.timedelta(days=days))
        config.check()  # before anything: a bad size changes nothing
        started = time.perf_counter()
        if not seeded(engine):  # the demo people's past comes before the simulated days, as in time
            phase(f"the demo people's past: {HISTORY_WEEKS} weeks of everyday payments before {config.start}")
            people = seed_demo_people(engine, settings, config.start)
        phase("the platform credit model (a scorecard): loans are approved only with one")
        ensure_model(engine)
        phase(f"simulating {customers} customers over {days} days from {config.start}")
        simulate(engine, config, on_day, vault_for(settings) if settings is not None else None)
        phase("watching the market: monitor, graph analytics, cases")
        analyse(engine, config.start, config.days)
        seconds = time.perf_counter() - started
        with reading(engine) as connection:
            run = finished_run(connection)
        assert run is not None
    world = None
    if not seeded(engine):
        phase("seeding the demo people, merchants and payments")
        world = seed_demo_world(engine, settings, people)
        Monitor(engine).run()  # the seeded payments, watched at the real time they happened
    phase("reading the market back")
    market = read_market(engine, run)
    market.fresh, market.seconds = seconds is not None, seconds
    return DemoStart(market, world)


@contextlib.contextmanager
def progress(days: int, console=None) -> Iterator[Callable[[int, object], None]]:
    """A Rich progress line per simulated day: the date, the day's QR and loan volume, loans by bucket
    and the fund's seven-day yield."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    def yuan(fen: int) -> str:
        return f"¥{Decimal(fen).scaleb(-2):,.0f}"

    with Progress(
        TextColumn("[bold]simulating"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("", total=days)

        def on_day(d: int, stats) -> None:
            loans = sum(stats.buckets.values())
            late = sum(n for b, n in stats.buckets.items() if b != "current")
            bar.update(
                task,
                advance=1,
                description=(
                    f"{stats.date} paid {yuan(stats.volume.get('qr', 0))} lent {yuan(stats.volume.get('loan', 0))} "
                    f"loans {loans} ({late} late) 7-day yield {stats.yield_7d + '%' if stats.yield_7d else 'n/a'}"
                ),
            )

        yield on_day
