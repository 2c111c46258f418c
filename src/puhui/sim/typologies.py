"""The planted minority: launderers acting by one typology each, with ground-truth labels.

Each plan decides, from its own RNG, on which day and at which minute each act happens; every
payment an act makes is recorded as a label (customer, typology, role, payment) — the truth the
monitor's precision and recall are measured against, never shown to the monitor."""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from puhui.sim.agents import Act, Agent, Merchant, Platform

STRUCTURING_THRESHOLD = 50_000_00  # 大额: cash ≥ 50,000 CNY (PBOC Order 2016 No. 3)


class Typology(enum.StrEnum):
    structuring = "structuring"  # 拆分交易: just under the threshold
    rapid_in_out = "rapid_in_out"  # 快进快出
    fan_in = "fan_in"  # 多对一 (集中转入)
    fan_out = "fan_out"  # 一对多 (分散转出)
    round_amounts = "round_amounts"  # 整数金额
    night_burst = "night_burst"  # 夜间密集交易


@dataclass(frozen=True)
class Label:
    agent: int
    customer_id: str
    typology: str
    role: str  # principal | accomplice
    payment_id: str | None


@dataclass
class Plan:
    principal: Agent
    typology: Typology
    rng: random.Random
    mules: list[Agent]
    days: int
    start: int = 0
    labels: list[Label] = field(default_factory=list)

    def record(self, who: Agent, role: str, payment_id: str | None) -> None:
        if payment_id is not None:
            self.labels.append(Label(who.index, who.customer_id, self.typology.value, role, payment_id))

    def pick(self, k: int) -> list[Agent]:
        return self.rng.sample(self.mules, min(k, len(self.mules)))


def plan_for(principal: Agent, typology: Typology, seed: int, mules: list[Agent], days: int) -> Plan:
    rng = random.Random(f"{seed}:plan:{principal.index}")
    return Plan(principal, typology, rng, mules, days, start=rng.randrange(1, max(2, days - 2)))


def acts_today(plan: Plan, day: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """The plan's acts for `day` (days before its start are quiet)."""
    offset = day - plan.start
    if offset < 0:
        return []
    return ACTS[plan.typology](plan, offset, platform, merchants)


def _top_up(plan: Plan, platform: Platform, fen: int) -> Callable[[], None]:
    return lambda: plan.record(plan.principal, "principal", platform.top_up(plan.principal.customer_id, fen))


def _send(plan: Plan, platform: Platform, payer: Agent, payee: Agent, fen: int,
          inbound: bool = False) -> Callable[[], None]:
    """A P2P act: outbound the principal pays; inbound an accomplice pays the principal."""
    def act() -> None:
        pid = platform.p2p(payer.customer_id, payee.customer_id, fen)
        if inbound:
            plan.record(payer, "accomplice", pid)
            plan.record(payee, "principal", pid)
        else:
            plan.record(payer, "principal", pid)
    return act


def _structuring(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    rng, acts = plan.rng, []
    if offset == 0:
        acts.append((rng.randrange(480, 540), _top_up(plan, platform, 160_000_00)))
    if offset < 3:
        fen = STRUCTURING_THRESHOLD - rng.randrange(10_00, 2_000_00)  # 48,000–49,990 CNY, never round
        for mule in plan.pick(1):
            acts.append((rng.randrange(600, 1080), _send(plan, platform, plan.principal, mule, fen)))
    return acts


def _rapid_in_out(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    rng = plan.rng
    if offset not in (0, 2) or len(plan.mules) < 2:
        return []
    source, sink = plan.pick(2)
    fen = rng.randrange(30_000_00, 80_000_00, 1_00)
    t = rng.randrange(540, 1200)
    out = fen * rng.randrange(95, 100) // 100
    return [(t, _send(plan, platform, source, plan.principal, fen, inbound=True)),
            (t + rng.randrange(5, 60), _send(plan, platform, plan.principal, sink, out))]


def _fan_in(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    rng = plan.rng
    if offset != 0:
        return []
    t0 = rng.randrange(540, 900)
    return [(t0 + rng.randrange(0, 240), _send(plan, platform, m, plan.principal, rng.randrange(2_000_00, 9_000_00),
                                               inbound=True))
            for m in plan.pick(rng.randrange(12, 21))]


def _fan_out(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    rng = plan.rng
    if offset != 0:
        return []
    t0 = rng.randrange(540, 900)
    acts: list[Act] = [(t0 - 30, _top_up(plan, platform, 190_000_00))]
    acts += [(t0 + rng.randrange(0, 240), _send(plan, platform, plan.principal, m, rng.randrange(2_000_00, 9_000_00)))
             for m in plan.pick(rng.randrange(12, 21))]
    return acts


def _round_amounts(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    rng, acts = plan.rng, []
    if offset == 0:
        acts.append((rng.randrange(480, 540), _top_up(plan, platform, 150_000_00)))
    if offset < 6 and rng.random() < 0.7:
        fen = rng.choice((10_000_00, 20_000_00, 30_000_00))
        for mule in plan.pick(1):
            acts.append((rng.randrange(600, 1200), _send(plan, platform, plan.principal, mule, fen)))
    return acts


def _night_burst(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    rng = plan.rng
    if offset != 0:
        return []
    acts: list[Act] = [(rng.randrange(0, 30), _top_up(plan, platform, 60_000_00))]
    for _ in range(rng.randrange(6, 13)):
        minute, fen = rng.randrange(60, 240), rng.randrange(500_00, 5_000_00)
        if rng.random() < 0.25 and merchants:  # a static code takes little a day (≤ 500 CNY)
            fen = rng.randrange(20_00, 120_00)
            m = merchants[rng.randrange(len(merchants))]
            acts.append((minute, lambda m=m, fen=fen: plan.record(
                plan.principal, "principal", platform.qr_pay(plan.principal.customer_id, m, fen))))
        else:
            for mule in plan.pick(1):
                acts.append((minute, _send(plan, platform, plan.principal, mule, fen)))
    return acts


ACTS = {
    Typology.structuring: _structuring, Typology.rapid_in_out: _rapid_in_out, Typology.fan_in: _fan_in,
    Typology.fan_out: _fan_out, Typology.round_amounts: _round_amounts, Typology.night_burst: _night_burst,
}
