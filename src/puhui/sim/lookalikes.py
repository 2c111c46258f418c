"""Honest customers whose money looks like laundering (良性相似行为), with ground truth.

A few ordinary customers each get one of these lives, which a naive monitor flags: wedding gifts
(many guests pay the couple on the day, the banquet is paid days later), group buying (neighbours
pay the organiser over two days, who pays the shop), payroll (a small employer tops up from its
own card and pays ten or more staff on payday), tuition and a car (a parent transfers the money
or the payer tops up from its own card, and the school or the dealer is paid within hours). Their
payments are labelled `lookalike_<kind>` with role `benign`: never launderers, so any alert on
them is a false positive the report counts. Most of their transfers declare what they are for (用途,
`DECLARES` of them: a gift, group buying, payroll, family), as a payer choosing it in the app would.
"""

from __future__ import annotations

import enum
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from puhui.sim.agents import Act, Agent, Merchant, Platform
from puhui.sim.typologies import Label

BENIGN = "benign"


DECLARES = 80  # per cent of a look-alike's transfers that declare their purpose


def declared(purpose: str, payer: str, payee: str, percent: int = DECLARES) -> str | None:
    """`purpose` for `percent`% of payer-payee pairs (a fixed draw of the pair: no run's RNG is touched)."""
    return purpose if zlib.crc32(f"{payer}>{payee}".encode()) % 100 < percent else None


class Lookalike(enum.StrEnum):
    wedding = "wedding"  # 婚礼礼金
    group_buy = "group_buy"  # 团购
    payroll = "payroll"  # 代发工资
    tuition = "tuition"  # 学费
    car = "car"  # 购车


SHARE = {  # of the ordinary customers, per kind
    Lookalike.wedding: 0.005,
    Lookalike.group_buy: 0.01,
    Lookalike.payroll: 0.005,
    Lookalike.tuition: 0.01,
    Lookalike.car: 0.005,
}


@dataclass
class Life:
    who: Agent
    kind: Lookalike
    rng: random.Random
    day: int
    others: list[Agent]  # guests, neighbours, staff, or the parent
    shop: Merchant
    then: int = 3  # days from the first act to the follow-up (a wedding's banquet)
    labels: list[Label] = field(default_factory=list)
    received: int = 0

    def record(self, payment_id: str | None) -> None:
        if payment_id is not None:
            self.labels.append(
                Label(self.who.index, self.who.customer_id, f"lookalike_{self.kind.value}", BENIGN, payment_id)
            )


def plant(agents: list[Agent], merchants: list[Merchant], seed: int, days: int) -> list[Life]:
    """Give a few of `agents` one look-alike life each, with the people it involves."""
    rng = random.Random(f"{seed}:lookalikes")
    pool = list(agents)
    rng.shuffle(pool)
    lives, taken = [], 0
    for kind, share in SHARE.items():
        for _ in range(max(1, round(len(agents) * share))):
            if taken >= len(pool):
                return lives
            who = pool[taken]
            taken += 1
            crowd = {Lookalike.wedding: (15, 31), Lookalike.group_buy: (10, 21), Lookalike.payroll: (10, 15)}
            low, high = crowd.get(kind, (1, 2))
            others = rng.sample([a for a in agents if a is not who], min(rng.randrange(low, high), len(agents) - 1))
            life_rng = random.Random(f"{seed}:lookalike:{who.index}")
            start = life_rng.randrange(1, max(2, days - 6))
            lives.append(Life(who, kind, life_rng, start, others, rng.choice(merchants), life_rng.randrange(2, 5)))
    return lives


def acts_today(life: Life, day: int, platform: Platform) -> list[Act]:
    offset = day - life.day
    if offset < 0 or offset > 35:
        return []
    return ACTS[life.kind](life, offset, platform)


def _p2p(life: Life, platform: Platform, payer: Agent, fen: int) -> Callable[[], None]:
    """`payer` pays the look-alike `fen` (a guest's gift, a neighbour's share)."""

    purpose = declared(PURPOSE[life.kind], payer.customer_id, life.who.customer_id)

    def act() -> None:
        pid = platform.p2p(payer.customer_id, life.who.customer_id, fen, purpose=purpose)
        if pid is not None:
            life.received += fen
            life.record(pid)

    return act


def _wedding(life: Life, offset: int, platform: Platform) -> list[Act]:
    rng = life.rng
    if offset == 0:
        return [
            (rng.randrange(600, 1320), _p2p(life, platform, guest, 100 * rng.choice((600, 666, 800, 888, 1000, 1200))))
            for guest in life.others
        ]
    if offset == life.then:  # the banquet, days later
        return [(rng.randrange(600, 1080), lambda: _buy(life, platform, life.received * rng.randrange(60, 95) // 100))]
    return []


def _group_buy(life: Life, offset: int, platform: Platform) -> list[Act]:
    rng = life.rng
    if offset in (0, 1):
        return [
            (rng.randrange(480, 1320), _p2p(life, platform, n, rng.randrange(30_00, 300_00, 50)))
            for n in life.others[offset::2]
        ]
    if offset == 2:
        return [(rng.randrange(540, 720), lambda: _buy(life, platform, life.received))]
    return []


def _payroll(life: Life, offset: int, platform: Platform) -> list[Act]:
    rng = life.rng
    if offset % 30 != 0:
        return []
    pay = [rng.randrange(2_500_00, 5_000_00, 100) for _ in life.others]
    cid = life.who.customer_id
    acts: list[Act] = [(rng.randrange(480, 540), lambda: life.record(platform.top_up(cid, sum(pay) + 1_000_00)))]
    for staff, fen in zip(life.others, pay, strict=True):
        said = declared("payroll", cid, staff.customer_id)
        acts.append(
            (
                rng.randrange(600, 720),
                lambda s=staff, f=fen, p=said: life.record(platform.p2p(cid, s.customer_id, f, purpose=p)),
            )
        )
    return acts


def _tuition(life: Life, offset: int, platform: Platform) -> list[Act]:
    rng = life.rng
    if offset != 0:
        return []
    fen = rng.randrange(8_000_00, 30_000_00, 100_00)
    start = rng.randrange(480, 900)
    cid = life.who.customer_id
    return [
        (start, lambda: life.record(platform.top_up(cid, fen))),
        (start + rng.randrange(10, 180), lambda: _buy(life, platform, fen)),
    ]


def _car(life: Life, offset: int, platform: Platform) -> list[Act]:
    """A parent transfers most of the price (another person's money, paid on at once, to a dealer)."""
    rng = life.rng
    if offset != 0:
        return []
    parent, price = life.others[0], rng.randrange(60_000_00, 130_000_00, 1_000_00)
    start = rng.randrange(480, 780)
    cid = life.who.customer_id

    def gift() -> None:
        platform.top_up(parent.customer_id, price)
        purpose = declared("family", parent.customer_id, cid)
        life.record(platform.p2p(parent.customer_id, cid, price, purpose=purpose))

    return [(start, gift), (start + rng.randrange(30, 240), lambda: _buy(life, platform, price))]


def _buy(life: Life, platform: Platform, fen: int) -> None:
    if fen > 0:
        life.record(platform.pay_merchant(life.who.customer_id, life.shop, fen))


PURPOSE = {  # what a look-alike's transfers declare, when they do
    Lookalike.wedding: "gift",
    Lookalike.group_buy: "group_buying",
    Lookalike.payroll: "payroll",
    Lookalike.tuition: "family",
    Lookalike.car: "family",
}

ACTS = {
    Lookalike.wedding: _wedding,
    Lookalike.group_buy: _group_buy,
    Lookalike.payroll: _payroll,
    Lookalike.tuition: _tuition,
    Lookalike.car: _car,
}
