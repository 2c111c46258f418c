"""The run (模拟运行): a seeded population on a moving ManualClock, day by day, each day closed by the
end-of-day batches of lending, wealth and insurance and the reserve check; labels stored at the end."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.errors import InvalidInput
from puhui.identity.vault import Vault
from puhui.insurance.reserves import service as insurance_reserves
from puhui.ledger import queries as ledger_queries
from puhui.ledger.audit import audit
from puhui.lending import eod as lending_eod
from puhui.lending import queries as lending_queries
from puhui.lending.service import day_of
from puhui.payments import reserve
from puhui.sim import enterprises, fraud, lookalikes
from puhui.sim.agents import Agent, Kind, Merchant, Platform, daily_acts, make_agent
from puhui.sim.tables import sim_labels, sim_runs
from puhui.sim.typologies import Label, Plan, Typology, acts_today, plan_for
from puhui.wealth.mmf import eod as wealth_eod
from puhui.wealth.mmf.manager import SimulatedManager

CHINA = clock_module.CHINA
MIN_CUSTOMERS = 40
CAPITAL = 10_000_000_000_00  # the platform's own money, so it can lend
MULE_FUNDS = 100_000_00


@dataclass(frozen=True)
class Config:
    customers: int
    days: int
    seed: int
    start: dt.date = dt.date(2026, 3, 2)

    def check(self) -> None:
        if self.customers < MIN_CUSTOMERS:
            raise InvalidInput(f"a simulation needs at least {MIN_CUSTOMERS} customers")
        if not 1 <= self.days <= 366:
            raise InvalidInput("days must be between 1 and 366")


@dataclass
class DayStats:
    date: dt.date
    volume: dict[str, int]  # fen per kind of act, this day
    balances: dict[str, int]  # fen per account code, end of day
    yield_7d: str | None  # the fund's seven-day annualized yield (七日年化)
    income_per_10k: str | None  # 万份收益
    buckets: dict[str, int]  # active loans per bucket (current, M1, …)
    written_off: int


@dataclass
class SimResult:
    run_id: str
    config: Config
    days: list[DayStats] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)
    audit_ok: bool = False
    covered: bool = False
    held: Counter[str] = field(default_factory=Counter)  # payments held for review, by the holder's answer
    challenged: dict[str, str] = field(default_factory=dict)  # payment id -> passed / failed / abandoned
    supply_chain: dict[str, int] = field(default_factory=dict)  # receivables confirmed, financed, paid, overdue


def ledger_totals(connection) -> dict[str, tuple[int, int]]:
    """(debits, credits) posted per account code: the figure two runs of one seed must agree on."""
    return ledger_queries.totals_by_code(connection)


class World:
    def __init__(self, engine: Engine, config: Config, vault: Vault | None = None, policy: Any = None) -> None:
        config.check()
        self.engine, self.config = engine, config
        self.rng = random.Random(f"{config.seed}:world")
        with reading(engine) as connection:
            runs = connection.execute(select(func.count()).select_from(sim_runs)).scalar_one()
        self.run_id = f"sim{runs + 1}-{config.seed}"
        self.seq_base = runs * 1_000_000
        self.platform = Platform(engine, self.run_id, vault)
        self.clock = clock_module.ManualClock(clock_module.china_midnight(config.start) + dt.timedelta(hours=6))
        self.agents: list[Agent] = []
        self.mules: list[Agent] = []
        self.affiliates: list[Agent] = []
        self.merchants: list[Merchant] = []
        self.plans: list[Plan] = []
        self.lives: list[lookalikes.Life] = []  # honest look-alikes (良性相似行为)
        self.checks: fraud.FraudChecks | None = None
        self.policy = policy  # the fraud cost policy (`risk.fraud.hook.Policy`), None: the rules' own actions
        self.changes: list[fraud.Change] = []  # honest new phones, trips and cards
        self.ring: fraud.FraudRing | None = None
        self.chain: enterprises.SupplyChain | None = None
        self.desk: enterprises.FundDesk | None = None

    # -- setting up ------------------------------------------------------------------------------

    def populate(self) -> None:
        c = self.config
        n_mules = max(20, c.customers // 20)
        n_affiliates = 3 + c.customers // 2000
        n_ordinary = c.customers - n_mules - n_affiliates
        for i in range(c.customers):
            kind = (
                Kind.affiliate
                if i >= n_ordinary + n_mules
                else Kind.mule
                if i >= n_ordinary
                else Kind.student
                if self.rng.random() < 0.3
                else Kind.salary
            )
            agent = make_agent(i, kind, c.seed, c.days)
            self.platform.register(agent, self.seq_base + i)
            {Kind.mule: self.mules, Kind.affiliate: self.affiliates}.get(kind, self.agents).append(agent)
        for j in range(max(3, c.customers // 25)):
            self.merchants.append(self.platform.merchant(j, self.seq_base + j))
        self.platform.relate_to_platform(self.affiliates)
        n_principals = max(len(Typology), c.customers * 3 // 100)
        principals = self.rng.sample(self.agents, min(n_principals, len(self.agents)))
        chosen = {id(p) for p in principals}
        victims = [a for a in self.agents if a.kind == Kind.salary and id(a) not in chosen]
        typologies = list(Typology)
        self.plans = [
            plan_for(p, typologies[k % len(typologies)], c.seed, self.mules, c.days, victims, self.affiliates)
            for k, p in enumerate(principals)
        ]
        self.platform.ensure_product()
        plotted = {id(p) for p in principals} | {id(v) for v in victims}
        self.lives = lookalikes.plant([a for a in self.agents if id(a) not in plotted], self.merchants, c.seed, c.days)
        self.ring = fraud.plant(
            self.platform,
            c.seed,
            c.days,
            c.customers,
            self.seq_base + 900_000,
            [a for a in self.agents if id(a) not in plotted],
        )
        self.changes = fraud.plant_changes(
            [a for a in self.agents if id(a) not in plotted and id(a) not in self.ring.victims], c.seed, c.days
        )
        self.chain = enterprises.set_up_supply_chain(self.platform, c.seed, c.customers, self.seq_base + 500_000)
        self.desk = enterprises.set_up_funds(self.platform, c.seed, [a for a in self.agents if id(a) not in chosen])
        self.checks = fraud.install_fraud_checks(self.engine, self.policy)
        if self.checks is not None:
            checks = self.checks
            self.platform.after_challenge = lambda: checks.follow(clock_module.now_micros(), at_once=True)
            shops = [m.merchant_id for m in self.merchants] + [
                m.merchant_id for core in self.chain.cores for m in (core.merchant, *core.suppliers)
            ]
            self.checks.established(shops, clock_module.day_bounds(c.start - dt.timedelta(days=180))[0])
        transaction(self.engine, lambda uow: reserve.inject_capital(uow, f"{self.run_id}.capital", CAPITAL))
        transaction(
            self.engine,
            lambda uow: uow.execute(
                sim_runs.insert().values(
                    id=self.run_id,
                    seed=c.seed,
                    customers=c.customers,
                    days=c.days,
                    start_date=c.start.isoformat(),
                    status="running",
                    summary=None,
                    created_at=clock_module.now_micros(),
                )
            ),
        )

    # -- one day ---------------------------------------------------------------------------------

    def acts(self, d: int, date: dt.date) -> list[tuple[int, int, Callable[[], object]]]:
        acts = []
        if d == 0:
            acts += [(400, lambda m=m: self.platform.top_up(m.customer_id, MULE_FUNDS)) for m in self.mules]
        lending_day = day_of(date)
        for agent in self.agents + self.mules + self.affiliates:
            acts += daily_acts(agent, d, date.day - 1, lending_day, self.platform, self.agents, self.merchants)
        checks = self.checks
        for plan in self.plans:
            planned = acts_today(plan, d, self.platform, self.merchants)
            acts += planned if checks is None else [(minute, checks.bypassing(act)) for minute, act in planned]
        for life in self.lives:  # honest, as the plans are planted: the fraud engine's choices are measured apart
            lived = lookalikes.acts_today(life, d, self.platform)
            acts += lived if checks is None else [(minute, checks.bypassing(act)) for minute, act in lived]
        assert self.ring is not None and self.chain is not None and self.desk is not None
        acts += fraud.fraud_acts(self.ring, d, self.platform)
        acts += fraud.change_acts(self.changes, d, self.platform)
        acts += enterprises.supply_acts(self.chain, d, self.platform)
        acts += enterprises.fund_acts(self.desk, d, date.day - 1, self.platform)
        return sorted(((minute, k, act) for k, (minute, act) in enumerate(acts)), key=lambda a: (a[0], a[1]))

    def day(self, d: int) -> DayStats:
        date = self.config.start + dt.timedelta(days=d)
        midnight = clock_module.china_midnight(date)
        before = Counter(self.platform.volume)
        for minute, _, act in self.acts(d, date):
            when = midnight + dt.timedelta(minutes=minute)
            if when > self.clock.now():
                self.clock.set(when)
            if self.checks is not None:
                self.checks.follow(clock_module.now_micros())
            act()
        self.clock.set(midnight + dt.timedelta(hours=23, minutes=50))
        self.platform.expire_challenges()
        self.clock.set(midnight + dt.timedelta(days=1))  # the day is over: its end of day (日终) may run
        lending_eod.run(self.engine, date)
        assert self.chain is not None and self.desk is not None
        enterprises.close_supply_day(self.chain, self.engine, date)
        enterprises.close_fund_day(self.desk, self.engine, date)
        funds = wealth_eod.run_eod(self.engine, date, SimulatedManager(seed=self.config.seed))
        insurance_reserves.run_reserves(self.engine, date)
        transaction(self.engine, lambda uow: reserve.record_check(uow, date))
        volume = {k: v - before.get(k, 0) for k, v in self.platform.volume.items()}
        return self.stats(date, volume, funds[0] if funds else None)

    def stats(self, date: dt.date, volume: dict[str, int], fund: dict | None) -> DayStats:
        with reading(self.engine) as connection:
            totals = ledger_totals(connection)
            rows = lending_queries.loans_by_status_and_bucket(connection)
        balances = {code: c - d for code, (d, c) in totals.items()}
        buckets = {b: n for s, b, n in rows if s == "active"}
        written_off = sum(n for s, _, n in rows if s == "written_off")
        return DayStats(
            date,
            volume,
            balances,
            fund.get("seven_day_yield") if fund else None,
            fund.get("income_per_10k") if fund else None,
            buckets,
            written_off,
        )

    # -- the end ---------------------------------------------------------------------------------

    def finish(self, result: SimResult) -> None:
        result.labels = [label for plan in self.plans for label in plan.labels]
        result.labels += self.ring.labels if self.ring is not None else []
        result.labels += [label for life in self.lives for label in life.labels]
        result.done, result.refused = self.platform.done, self.platform.refused
        result.held = self.platform.held
        result.challenged = self.platform.challenged
        result.supply_chain = dict(self.chain.stats) if self.chain is not None else {}
        with reading(self.engine) as connection:
            result.totals = ledger_totals(connection)
            result.audit_ok = audit(connection).ok
            result.covered = reserve.reserve_coverage(connection).covered
        summary = {
            "done": dict(result.done),
            "refused": dict(result.refused),
            "labels": len(result.labels),
            "held": dict(result.held),
            "challenged": dict(Counter(result.challenged.values())),
            "supply_chain": result.supply_chain,
            "audit_ok": result.audit_ok,
            "covered": result.covered,
        }
        now = clock_module.now_micros()
        rows = [
            {
                "id": f"{self.run_id}:{k}",
                "run_id": self.run_id,
                "agent": lb.agent,
                "customer_id": lb.customer_id,
                "typology": lb.typology,
                "role": lb.role,
                "payment_id": lb.payment_id,
                "created_at": now,
            }
            for k, lb in enumerate(result.labels)
        ]

        def work(uow):
            if rows:
                uow.execute(sim_labels.insert(), rows)
            uow.execute(
                sim_runs.update()
                .where(sim_runs.c.id == self.run_id)
                .values(status="finished", summary=json.dumps(summary, sort_keys=True))
            )

        transaction(self.engine, work)


def run_span(result: SimResult) -> tuple[int, int]:
    """The run's first and last instants (UTC micros): what the batch analytics look over."""
    start = clock_module.china_midnight(result.config.start)
    return clock_module.to_micros(start), clock_module.to_micros(start + dt.timedelta(days=result.config.days))


def simulate(
    engine: Engine,
    config: Config,
    on_day: Callable[[int, DayStats], None] | None = None,
    vault: Vault | None = None,
    policy: Any = None,
) -> SimResult:
    """Run the market for `config.days` days; the clock is a ManualClock installed for the run only.
    People are sealed under `vault` (the server's, for a market the server will show), else run keys.
    The fraud engine decides by the cost `policy` (`risk.fraud.hook.Policy`) when given, else by its rules."""
    world = World(engine, config, vault, policy)
    with clock_module.using(world.clock):
        try:
            world.populate()
            result = SimResult(world.run_id, config)
            for d in range(config.days):
                stats = world.day(d)
                result.days.append(stats)
                if on_day is not None:
                    on_day(d, stats)
            world.finish(result)
        finally:
            if world.checks is not None:
                world.checks.close()
    return result
