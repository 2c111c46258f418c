"""The planted minority: launderers acting by one typology each, with ground-truth labels.

Each plan decides, from its own RNG, on which day and at which minute each act happens; every
payment an act makes is recorded as a label (customer, typology, role, payment) — the truth the
monitor's precision and recall are measured against, never shown to the monitor."""

from __future__ import annotations

import enum
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from puhui.payments.risk_hook import PaymentContext
from puhui.regtech.windows import device_party
from puhui.sim.agents import Act, Agent, Merchant, Platform

STRUCTURING_THRESHOLD = 50_000_00  # 大额: cash ≥ 50,000 CNY (PBOC Order 2016 No. 3)


class Typology(enum.StrEnum):
    structuring = "structuring"  # 拆分交易: just under the threshold
    rapid_in_out = "rapid_in_out"  # 快进快出
    fan_in = "fan_in"  # 多对一 (集中转入)
    fan_out = "fan_out"  # 一对多 (分散转出)
    round_amounts = "round_amounts"  # 整数金额
    night_burst = "night_burst"  # 夜间密集交易
    dormant = "dormant"  # 长期不动户突然启用
    self_financing = "self_financing"  # 自融: loan proceeds to the lender's related party
    fund_pool = "fund_pool"  # 资金池: collects from many, withdraws off the platform
    cycle = "cycle"  # 循环转账: money comes back round a ring of accounts
    gather_scatter = "gather_scatter"  # 分散转入集中转出: a pass-through account
    device_farm = "device_farm"  # 一机多户: one phone runs many mule accounts
    mule_chain = "mule_chain"  # 资金链: passed from mule to mule, a few per cent kept at each hop, then cashed out
    loan_layering = "loan_layering"  # 以贷洗钱: a loan passed on at once, or repaid early with others' money


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
    victims: list[Agent] = field(default_factory=list)  # ordinary people a fund pool collects from
    affiliates: list[Agent] = field(default_factory=list)  # the platform's related parties (关联方)
    chosen: dict[str, list[Agent]] = field(default_factory=dict)  # who a multi-day plan uses, by role
    gathered: int = 0  # fen a pass-through account took in
    schedule: list[Act] = field(default_factory=list)  # acts at minutes from the plan's first midnight
    done: set[str] = field(default_factory=set)  # steps of a multi-day plan that happened (others wait on them)

    def record(self, who: Agent, role: str, payment_id: str | None) -> None:
        if payment_id is not None:
            self.labels.append(Label(who.index, who.customer_id, self.typology.value, role, payment_id))

    def record_device(self, device_id: str, payment_id: str | None) -> None:
        """The principal of a device farm is its phone: the party the monitor's device window is keyed by."""
        if payment_id is not None:
            self.labels.append(
                Label(self.principal.index, device_party(device_id), self.typology.value, "principal", payment_id)
            )

    def pick(self, k: int) -> list[Agent]:
        return self.rng.sample(self.mules, min(k, len(self.mules)))


DORMANT_QUIET_FROM = 2  # the dormant principal's last active day is day 1
DORMANT_DAYS = 31  # it wakes no sooner than this many days later
SPAN = {  # days a plan's acts take
    Typology.fund_pool: 8,
    Typology.cycle: 3,
    Typology.gather_scatter: 4,
    Typology.fan_in: 7,
    Typology.fan_out: 3,
    Typology.rapid_in_out: 6,
    Typology.mule_chain: 12,
    Typology.loan_layering: 6,
}


def plan_for(
    principal: Agent,
    typology: Typology,
    seed: int,
    mules: list[Agent],
    days: int,
    victims: list[Agent] | None = None,
    affiliates: list[Agent] | None = None,
) -> Plan:
    """A launderer's plan; a plan that cannot fit in `days` (a dormant spell in a short run) never starts."""
    rng = random.Random(f"{seed}:plan:{principal.index}")
    principal.borrowing = None  # launderers take no ordinary loans (their repayments would muddle the plan)
    if typology == Typology.dormant:
        wake = DORMANT_QUIET_FROM + DORMANT_DAYS + rng.randrange(0, 6)
        principal.quiet = (DORMANT_QUIET_FROM, wake)
        principal.saver = False
        start = wake if wake < days - 1 else days  # days: never
    else:
        start = rng.randrange(1, max(2, days - SPAN.get(typology, 2)))
    return Plan(principal, typology, rng, mules, days, start=start, victims=victims or [], affiliates=affiliates or [])


def acts_today(plan: Plan, day: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """The plan's acts for `day` (days before its start are quiet)."""
    offset = day - plan.start
    if offset < 0:
        return []
    return ACTS[plan.typology](plan, offset, platform, merchants)


def _top_up(plan: Plan, platform: Platform, fen: int) -> Callable[[], None]:
    return lambda: plan.record(plan.principal, "principal", platform.top_up(plan.principal.customer_id, fen))


def _send(
    plan: Plan,
    platform: Platform,
    payer: Agent,
    payee: Agent,
    fen: int,
    inbound: bool = False,
    purpose: str | None = None,
) -> Callable[[], None]:
    """A P2P act: outbound the principal pays; inbound an accomplice pays the principal. `purpose`: a
    false declared purpose (用途), as launderers sometimes give one."""

    def act() -> None:
        pid = platform.p2p(payer.customer_id, payee.customer_id, fen, purpose=purpose)
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


def _scheduled(plan: Plan, offset: int) -> list[Act]:
    """Today's acts of a plan laid out at its start in minutes from its first midnight."""
    today = range(offset * 1440, (offset + 1) * 1440)
    return [(minute - today.start, act) for minute, act in plan.schedule if minute in today]


def _daytime(minute: int, rng: random.Random) -> int:
    """`minute` (from the plan's first midnight), or the next morning if it falls in the night: the
    following day's after 23:00, the same day's before 07:00."""
    into_day = minute % 1440
    if into_day > 1380:
        return minute - into_day + 1440 + rng.randrange(420, 540)
    if into_day < 420:
        return minute - into_day + rng.randrange(420, 540)
    return minute


def _after(plan: Plan, need: str | None, mark: str, minute: int, act: Callable[[], object]) -> None:
    """Schedule `act` at `minute` once step `need` happened — else the next day at the same minute, up
    to a week — and mark step `mark` done (money cannot be passed on before it arrived)."""

    def at(when: int, tries: int = 7) -> Callable[[], None]:
        def go() -> None:
            if need is None or need in plan.done:
                act()
                plan.done.add(mark)
            elif tries > 1:
                plan.schedule.append((when + 1440, at(when + 1440, tries - 1)))

        return go

    plan.schedule.append((minute, at(minute)))


def _cash_out(plan: Plan, platform: Platform, who: Agent, minute: int, fen: int, need: str | None = None) -> None:
    """Schedule `who` taking `fen` off the platform by one of several channels: one withdrawal to its
    card, two on different days, or transfers to one or two further mules (after step `need`)."""
    rng = plan.rng
    way = rng.choice(("card", "cards", "mules"))
    pieces = 1 if way == "card" else 2
    role = "principal" if who is plan.principal else "accomplice"
    cid = who.customer_id
    for k in range(pieces):
        part = _not_round(fen // pieces if k < pieces - 1 else fen - fen // pieces * (pieces - 1))
        at = _daytime(minute + k * rng.randrange(60, 1200), rng)
        if way == "mules":
            payee = plan.pick(1)[0].customer_id
            act = lambda p=payee, f=part: plan.record(who, role, platform.p2p(cid, p, f))  # noqa: E731
        else:
            act = lambda f=part: plan.record(who, role, platform.withdraw(cid, f))  # noqa: E731
        _after(plan, need, f"cash{k}", at, act)


def _through_fund(
    plan: Plan, platform: Platform, who: Agent, minute: int, fen: int, then: Callable[[], None], need: str | None = None
) -> str:
    """`who` parks `fen` in the fund at `minute` (after step `need`), and two trading days later redeems
    it fast and at once does `then`; a redemption refused (units not confirmed yet) is tried again the
    next day. Returns the step that marks `then` done."""
    rng = plan.rng
    if minute % 1440 > 870:  # after 14:30 the order would trade tomorrow: subscribe tomorrow morning
        minute += 1440 - minute % 1440 + rng.randrange(570, 690)
    parked, back = f"parked:{who.customer_id}:{minute}", f"back:{who.customer_id}:{minute}"
    _after(plan, need, parked, minute, lambda: platform.subscribe(who.customer_id, fen))

    def redeem(at: int, tries: int = 5) -> Callable[[], None]:
        def act() -> None:
            if parked not in plan.done:
                plan.schedule.append((at + 1440, redeem(at + 1440, tries)))
            elif platform.redeem_fen(who.customer_id, min(fen, 10_000_00), fast=True) or tries <= 1:
                then()  # (after all tries: paid on from the wallet)
                plan.done.add(back)
            else:
                plan.schedule.append((at + 1440, redeem(at + 1440, tries - 1)))

        return act

    at = (minute // 1440 + 2) * 1440 + rng.randrange(480, 600)
    plan.schedule.append((at, redeem(at)))
    return back


def _rapid_in_out(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """Twice, a mule's money in and most of it out: straight on within the hour, or parked in the fund
    the same hour and paid on by a fast redemption (≤ 10,000 CNY a day) days later; out by transfer or card."""
    rng = plan.rng
    if offset == 0 and len(plan.mules) >= 2:
        for start in (0, rng.randrange(2, 4) * 1440):
            source, sink = plan.pick(2)
            if rng.random() < 0.5:
                minute = start + rng.randrange(540, 1140)
                fen = _not_round(rng.randrange(30_000_00, 80_000_00, 1_00))
                plan.schedule.append((minute, _send(plan, platform, source, plan.principal, fen, inbound=True)))
                plan.schedule.append((minute + rng.randrange(5, 90), _pass_on(plan, platform, sink, fen)))
            else:
                minute = start + rng.randrange(540, 780)
                fen = _not_round(rng.randrange(10_500_00, 11_800_00, 1_00))
                plan.schedule.append((minute, _send(plan, platform, source, plan.principal, fen, inbound=True)))
                then = _pass_on(plan, platform, sink, 10_000_00, least=98)  # a fast redemption's cap, nearly all
                _through_fund(plan, platform, plan.principal, minute + rng.randrange(10, 60), fen, then)
    return _scheduled(plan, offset)


def _pass_on(plan: Plan, platform: Platform, sink: Agent, fen: int, least: int = 88) -> Callable[[], None]:
    """`least`-99 % of `fen` on to `sink`, or to the principal's own card."""
    fen = _not_round(fen * plan.rng.randrange(least, 100) // 100)
    if plan.rng.random() < 0.6:
        return _send(plan, platform, plan.principal, sink, fen)
    who = plan.principal.customer_id
    return lambda: plan.record(plan.principal, "principal", platform.withdraw(who, fen))


def _fan_in(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """12-20 mules pay in over two to four days (a few a day), then most of it goes on a day or two
    after the last: to a card, or to further mules."""
    rng = plan.rng
    if offset == 0:
        days, total = rng.randrange(2, 5), 0
        for k, mule in enumerate(plan.pick(rng.randrange(12, 21))):
            minute = (k % days) * 1440 + rng.randrange(540, 1260)
            fen = _not_round(rng.randrange(2_000_00, 9_000_00, 1_00))
            total += fen
            said = _false_purpose(plan, "gift")
            plan.schedule.append((minute, _send(plan, platform, mule, plan.principal, fen, True, said)))
        minute = (days + rng.randrange(0, 2)) * 1440 + rng.randrange(540, 900)
        _cash_out(plan, platform, plan.principal, minute, total * rng.randrange(60, 95) // 100)
    return _scheduled(plan, offset)


def _fan_out(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """Two to four mules hand the money over within a day; by the next evening it is scattered to 12-20."""
    rng = plan.rng
    if offset == 0:
        total = 0
        for mule in plan.pick(rng.randrange(2, 5)):
            fen = _not_round(rng.randrange(30_000_00, 60_000_00, 1_00))
            total += fen
            plan.schedule.append((rng.randrange(540, 1200), _send(plan, platform, mule, plan.principal, fen, True)))
        payees = plan.pick(rng.randrange(12, 21))
        share = total * rng.randrange(85, 97) // 100 // len(payees)
        first = 1440 + rng.randrange(480, 720)
        for mule in payees:
            fen = _not_round(share * rng.randrange(80, 120) // 100)
            minute = _daytime(first + rng.randrange(0, 600), rng)
            said = _false_purpose(plan, "payroll")
            plan.schedule.append((minute, _send(plan, platform, plan.principal, mule, fen, purpose=said)))
    return _scheduled(plan, offset)


FALSE_PURPOSES = 30  # per cent of fan-in and fan-out launderers who declare a false purpose (用途)


def _false_purpose(plan: Plan, purpose: str) -> str | None:
    """`purpose` on every transfer of the plan's launderers who lie about it (a fixed draw: no RNG is used)."""
    liar = zlib.crc32(f"{plan.principal.customer_id}:purpose".encode()) % 100 < FALSE_PURPOSES
    return purpose if liar else None


def _mule_chain(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """The principal's money passes through 3-5 mules, each keeping 1-6 % and passing the rest on 3 to
    40 hours after it arrived — one of them through the fund (fast redemption) when the sum allows —
    and the last mule cashes it out by card or to further mules."""
    rng = plan.rng
    if offset == 0:
        hops = plan.pick(rng.randrange(3, 6))
        through_fund = rng.random() < 0.4
        low, high = (5_000_00, 9_800_00) if through_fund else (15_000_00, 45_000_00)
        fen = _not_round(rng.randrange(low, high, 1_00))
        minute = rng.randrange(480, 600)
        top_up = fen + rng.randrange(1, 20) * 100_00
        _after(plan, None, "funded", minute - rng.randrange(30, 120), _top_up(plan, platform, top_up))
        payer, need, arrived = plan.principal, "funded", minute
        park_at = rng.randrange(1, len(hops) - 1) if through_fund else -1
        for k, mule in enumerate(hops):
            hop = _ring_hop(plan, platform, payer, mule, fen, False)
            if through_fund and k - 1 == park_at:  # the last mule parked it: paid on from the redemption
                need = _through_fund(plan, platform, payer, arrived + rng.randrange(20, 120), fen, hop, need)
                minute = plan.schedule[-1][0]  # the redemption's
            else:
                _after(plan, need, f"hop{k}", minute, hop)
                need = f"hop{k}"
            fen = _not_round(fen * (1000 - rng.randrange(10, 60)) // 1000)
            arrived, minute = minute, _daytime(minute + rng.randrange(180, 2400), rng)
            payer = mule
        _cash_out(plan, platform, payer, minute, fen, need)  # the last hop's shave already taken
    return _scheduled(plan, offset)


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
    few = plan.pick(rng.randrange(2, 4))  # a drained account pays a few accounts, not a crowd (that is fan-out)
    for _ in range(rng.randrange(6, 13)):
        minute, fen = rng.randrange(60, 240), rng.randrange(500_00, 5_000_00)
        if rng.random() < 0.25 and merchants:  # a static code takes little a day (≤ 500 CNY)
            fen = rng.randrange(20_00, 120_00)
            m = merchants[rng.randrange(len(merchants))]
            acts.append(
                (
                    minute,
                    lambda m=m, fen=fen: plan.record(
                        plan.principal, "principal", platform.qr_pay(plan.principal.customer_id, m, fen)
                    ),
                )
            )
        else:
            acts.append((minute, _send(plan, platform, plan.principal, few[rng.randrange(len(few))], fen)))
    return acts


def _not_round(fen: int) -> int:
    """Launderers other than the round-amount one avoid multiples of 10,000 CNY."""
    return fen + 37 if fen % 10_000_00 == 0 else fen


def _dormant(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """Quiet for a month, then a large sum in and out to mules, spread so no 4 hours hold most of it."""
    rng = plan.rng
    if offset != 0:
        return []
    fen = _not_round(rng.randrange(60_000_00, 120_000_00, 1_00))
    t = rng.randrange(480, 560)
    acts: list[Act] = [(t, _top_up(plan, platform, fen))]
    for k, mule in enumerate(plan.pick(2)):
        acts.append(
            (
                t + 300 + k * 240 + rng.randrange(0, 60),
                _send(plan, platform, plan.principal, mule, _not_round(fen * rng.randrange(38, 46) // 100)),
            )
        )
    return acts


def _self_financing(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """Borrow, then pass most of the proceeds to one of the lender's related parties within hours."""
    rng, who = plan.rng, plan.principal
    if offset != 0 or not plan.affiliates:
        return []
    fen = rng.randrange(12_000_00, 20_000_00, 100_00)
    affiliate = plan.affiliates[rng.randrange(len(plan.affiliates))]
    t = rng.randrange(540, 900)

    def pass_on() -> None:
        if who.loan_id is not None:
            plan.record(
                who,
                "principal",
                platform.p2p(who.customer_id, affiliate.customer_id, _not_round(fen * rng.randrange(85, 99) // 100)),
            )

    return [(t, lambda: platform.borrow(who, fen, 6)), (t + rng.randrange(60, 300), pass_on)]


def _loan_layering(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """Borrow 12,000-20,000 CNY, then either pass 85-98% of it on to one or two mules within hours, or
    withdraw most of it to one's card, let three to five mules pay the loan's worth in over the next
    days and repay the whole loan early (提前还款) with their money."""
    rng, who = plan.rng, plan.principal
    if offset == 0:
        fen, t = rng.randrange(12_000_00, 20_000_00, 100_00), rng.randrange(540, 900)

        _after(plan, None, "loan", t, lambda: platform.borrow(who, fen, 6))  # a loan is no payment: no label
        if rng.random() < 0.5:
            mules = plan.pick(rng.randrange(1, 3))
            share = _not_round(fen * rng.randrange(85, 99) // 100 // len(mules))
            for k, mule in enumerate(mules):
                _after(plan, "loan", f"on{k}", t + rng.randrange(30, 240), _send(plan, platform, who, mule, share))
        else:
            kept = _not_round(fen * rng.randrange(85, 96) // 100)
            cid = who.customer_id
            spend = lambda: plan.record(who, "principal", platform.withdraw(cid, kept))  # noqa: E731
            _after(plan, "loan", "spent", t + rng.randrange(60, 300), spend)
            payers = plan.pick(rng.randrange(3, 6))
            for k, mule in enumerate(payers):
                part = _not_round(fen * 108 // 100 // len(payers))
                minute = (1 + k * 2 // len(payers)) * 1440 + rng.randrange(540, 1200)
                _after(plan, "loan", f"in{k}", minute, _send(plan, platform, mule, who, part, inbound=True))
            last = f"in{len(payers) - 1}"
            _after(plan, last, "repaid", 3 * 1440 + rng.randrange(540, 1080), lambda: _repay_early(plan, platform))
    return _scheduled(plan, offset)


def _repay_early(plan: Plan, platform: Platform) -> None:
    who = plan.principal
    if who.loan_id is not None:
        plan.record(who, "principal", platform.repay(who, early=True))


def _fund_pool(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """Collect from 25-35 ordinary people over five days (at most seven a day), withdraw most to a card."""
    rng, who = plan.rng, plan.principal
    if offset == 0:
        plan.chosen["payers"] = rng.sample(plan.victims, min(rng.randrange(25, 36), len(plan.victims)))
    payers = plan.chosen.get("payers", [])
    acts: list[Act] = []
    if offset < 5:
        for victim in payers[offset::5]:
            fen = _not_round(rng.randrange(500_00, 3_000_00, 1_00))
            acts.append((rng.randrange(540, 1260), _send(plan, platform, victim, who, fen, inbound=True)))
    if offset in (5, 6):

        def withdraw() -> None:
            plan.record(who, "principal", platform.withdraw_share(who.customer_id, rng.randrange(40, 55)))

        acts.append((rng.randrange(600, 1080), withdraw))
    return acts


def _cycle(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """Round a ring of 2-3 mules and back, each hop five hours or more after the last, 0.5-3% kept per hop;
    the hops may run into the next days (minutes counted from the plan's first midnight)."""
    rng = plan.rng
    if offset == 0:
        ring = [plan.principal, *plan.pick(rng.choice((2, 3))), plan.principal]
        fen, minute = _not_round(rng.randrange(20_000_00, 40_000_00, 1_00)), rng.randrange(720, 840)
        top_up = fen + rng.randrange(1_000_00, 5_000_00, 1_00)  # hours before: no quick in-and-out of its own
        plan.schedule.append((rng.randrange(360, 420), _top_up(plan, platform, top_up)))
        for payer, payee in zip(ring, ring[1:]):
            plan.schedule.append((minute, _ring_hop(plan, platform, payer, payee, fen, payee is plan.principal)))
            fen = _not_round(fen * (1000 - rng.randrange(5, 30)) // 1000)
            minute += rng.randrange(300, 420)
            if minute % 1440 > 1380:  # nobody moves money at midnight: the next morning
                minute += 1440 - minute % 1440 + rng.randrange(420, 540)
    return _scheduled(plan, offset)


def _ring_hop(
    plan: Plan, platform: Platform, payer: Agent, payee: Agent, fen: int, back_home: bool
) -> Callable[[], None]:
    def act() -> None:
        pid = platform.p2p(payer.customer_id, payee.customer_id, fen)
        plan.record(payer, "principal" if payer is plan.principal else "accomplice", pid)
        if back_home:
            plan.record(payee, "principal", pid)

    return act


def _gather_scatter(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """6-8 mules pay in over two days; on the third the money goes out to 5-7 others (85-95% of it)."""
    rng, who = plan.rng, plan.principal
    if offset == 0:
        chosen = plan.pick(rng.randrange(11, 16))  # 6-8 in, 5-7 out
        plan.chosen["sources"], plan.chosen["sinks"] = (
            chosen[: (len(chosen) + 1) // 2],
            chosen[(len(chosen) + 1) // 2 :],
        )
    sources, sinks = plan.chosen.get("sources", []), plan.chosen.get("sinks", [])
    if offset in (0, 1):
        acts = []
        for mule in sources[offset::2]:
            fen = _not_round(rng.randrange(5_000_00, 15_000_00, 1_00))
            plan.gathered += fen
            acts.append((rng.randrange(540, 1200), _send(plan, platform, mule, who, fen, inbound=True)))
        return acts
    if offset == 2 and sinks:
        share = plan.gathered * rng.randrange(85, 95) // 100 // len(sinks)
        return [(rng.randrange(540, 1200), _send(plan, platform, who, m, _not_round(share))) for m in sinks]
    return []


def _device_farm(plan: Plan, offset: int, platform: Platform, merchants: list[Merchant]) -> list[Act]:
    """One evening, 6-8 mule accounts each pay the principal from the same phone, minutes apart."""
    rng = plan.rng
    if offset != 0:
        return []
    phone = PaymentContext(device_id=f"farm-{plan.principal.index}", location="深圳")
    minute, acts = rng.randrange(1140, 1260), []
    for mule in plan.pick(rng.randrange(6, 9)):
        fen = _not_round(rng.randrange(1_000_00, 4_000_00, 1_00))

        def act(mule: Agent = mule, fen: int = fen) -> None:
            pid = platform.p2p(mule.customer_id, plan.principal.customer_id, fen, context=phone)
            plan.record(mule, "accomplice", pid)
            plan.record_device(phone.device_id or "", pid)

        acts.append((minute, act))
        minute += rng.randrange(2, 8)
    return acts


ACTS = {
    Typology.structuring: _structuring,
    Typology.rapid_in_out: _rapid_in_out,
    Typology.fan_in: _fan_in,
    Typology.fan_out: _fan_out,
    Typology.round_amounts: _round_amounts,
    Typology.night_burst: _night_burst,
    Typology.dormant: _dormant,
    Typology.self_financing: _self_financing,
    Typology.fund_pool: _fund_pool,
    Typology.cycle: _cycle,
    Typology.gather_scatter: _gather_scatter,
    Typology.device_farm: _device_farm,
    Typology.mule_chain: _mule_chain,
    Typology.loan_layering: _loan_layering,
}
