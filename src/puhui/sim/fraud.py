"""The planted fraudsters (欺诈): account takeover (账户盗用). A fraudster who has stolen an ordinary
customer's credentials logs in at night from a new phone in another place and drains the wallet:
a small test payment to a fraud merchant's code, then P2P transfers to money mules.

Some first bind a card of their own to the wallet (绑卡), as cash-out crews do, and some change the
password (改密) to lock the owner out. A challenged attempt is
answered as `agents.STEP_UP` says: failed, unless this fraudster holds the victim's phone.

Honest people look like that now and then (`plant_changes`): a new phone, a trip to another city, a new
card, a new password; their payments are honest, and a challenge they meet is friction the report counts.

Every attempt is labelled (typology `account_takeover`, role `fraudster`) with the payment id the
platform gives it, whether it went through, was challenged, held or declined: the truth the fraud
engine's decisions are measured against (`sim.fraud_detection`). The platform's fraud engine sits in
front of every payment of the run (`install_fraud_checks`), deciding by the cost policy (allow,
challenge, hold, decline) unless PUHUI_FRAUD_POLICY is off."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from puhui.payments import risk_hook
from puhui.payments import service as payments
from puhui.payments.risk_hook import PaymentContext
from puhui.sim.agents import STEP_UP, Act, Agent, Kind, Merchant, Platform, make_agent
from puhui.sim.typologies import Label

TYPOLOGY = "account_takeover"
ROLE = "fraudster"
FAR_AWAY = ("境外-金边", "境外-马尼拉", "云南-瑞丽", "广西-东兴")
# The fraud state follows the outbox every 15 simulated minutes, and at once after a step-up challenge
# closes (a server's consumer follows it every 0.1 s: a failed challenge is evidence for the next payment).
CATCH_UP_MICROS = 15 * 60 * 1_000_000
BINDS_CARD = 0.4  # share of takeovers that bind a card of their own before draining
CHANGES_PASSWORD = 0.3  # share of takeovers that change the password first
# Honest changes over a run, as data: share of customers who get a new phone, travel, bind a new card.
HONEST_CHANGES = {"new_phone": 0.03, "travel": 0.04, "new_card": 0.02}
HONEST_PASSWORD_CHANGES = 0.02  # drawn from a stream of its own, so the other changes stay as they were


class FraudChecks:
    """The fraud engine on the run's database, kept up to date with the payments as the clock moves."""

    def __init__(self, engine: Engine, policy=None) -> None:  # type: ignore[no-untyped-def]
        from puhui.risk.fraud.hook import FraudHook

        self.engine = engine
        self.hook = FraudHook.start(engine)
        if policy is not None:
            self.hook.use_policy(policy, "simulator")
        self.last = -CATCH_UP_MICROS
        risk_hook.install(engine, self.hook)

    def established(self, merchant_ids: list[str], since: int) -> None:
        """The shops and enterprises traded long before the run: the engine's window state, which a
        platform in service would have built from their history, knows them from `since`."""
        with self.hook.state.lock:
            for mid in merchant_ids:
                self.hook.state.seen(mid, since)

    def follow(self, now: int, at_once: bool = False) -> None:
        if at_once or now - self.last >= CATCH_UP_MICROS:
            self.hook.catch_up()
            self.last = now

    def bypassing(self, act: Callable[[], object]) -> Callable[[], object]:
        """`act` with the engine out of the way: the launderers' payments measure the AML monitor, and a
        fraud decline would stop a planted typology half-way (their holders would confirm a review)."""

        def run() -> object:
            risk_hook.uninstall(self.engine)
            try:
                return act()
            finally:
                risk_hook.install(self.engine, self.hook)

        return run

    def close(self) -> None:
        risk_hook.uninstall(self.engine)


def install_fraud_checks(engine: Engine, policy=None) -> FraudChecks | None:  # type: ignore[no-untyped-def]
    """As the API does: the fraud engine in front of every payment unless PUHUI_FRAUD_CHECKS is off,
    deciding by `policy` (a `hook.Policy`) when one is given."""
    from puhui.settings import Settings

    return FraudChecks(engine, policy) if Settings().fraud_checks else None


@dataclass
class Takeover:
    victim: Agent
    day: int
    minute: int
    context: PaymentContext  # the fraudster's phone and place, never the victim's
    rng: random.Random
    labels: list[Label] = field(default_factory=list)
    attempts: int = 0
    holds_factor: bool = False  # holds the victim's phone: passes a step-up challenge
    binds_card: bool = False
    changes_password: bool = False

    def record(self, payment_id: str) -> None:
        self.labels.append(Label(self.victim.index, self.victim.customer_id, TYPOLOGY, ROLE, payment_id))


@dataclass
class FraudRing:
    merchant: Merchant  # the fraud shop (a front merchant) the test payments go to
    mules: list[Agent]
    takeovers: list[Takeover]

    @property
    def labels(self) -> list[Label]:
        return [label for t in self.takeovers for label in t.labels]

    @property
    def victims(self) -> set[int]:
        return {id(t.victim) for t in self.takeovers}


def plant(platform: Platform, seed: int, days: int, customers: int, seq: int, candidates: list[Agent]) -> FraudRing:
    """A fraud shop, a few mules of the ring's own and 2 + 1% of the customers as victims, each taken
    over on one night between day 3 and the run's last day."""
    rng = random.Random(f"{seed}:fraud")
    shop = platform.merchant(0, seq, name="模拟欺诈商户")
    mules = []
    for k in range(2 + customers // 400):
        mule = make_agent(-1 - k, Kind.mule, seed, days)
        platform.register(mule, seq + 1 + k)
        mules.append(mule)
    victims = rng.sample(candidates, min(len(candidates), 2 + customers // 100))
    takeovers = []
    for k, victim in enumerate(victims):
        context = PaymentContext(device_id=f"ato-{seed}-{k}", location=FAR_AWAY[rng.randrange(len(FAR_AWAY))])
        day = rng.randrange(min(3, days - 1), days) if days > 1 else 0
        t = Takeover(victim, day, rng.randrange(60, 240), context, random.Random(f"{seed}:ato:{k}"))
        traits = random.Random(f"{seed}:ato-traits:{k}")
        t.holds_factor = traits.random() < STEP_UP["fraud_holds_factor"]
        t.binds_card = traits.random() < BINDS_CARD
        t.changes_password = traits.random() < CHANGES_PASSWORD
        takeovers.append(t)
    return FraudRing(shop, mules, takeovers)


def fraud_acts(ring: FraudRing, day: int, platform: Platform) -> list[Act]:
    """Tonight's takeovers: a test payment, then two or three transfers a few minutes apart, each a
    third to a half of what is left (at most 8,000 CNY, so no laundering rule mistakes it)."""
    acts: list[Act] = []
    for t in ring.takeovers:
        if t.day != day:
            continue
        minute = t.minute
        if t.binds_card:
            seq = 800_000_000 + t.victim.index * 7 + 1
            acts.append((minute - 2, lambda t=t, seq=seq: platform.bind_card(t.victim.customer_id, seq)))
        if t.changes_password:
            acts.append((minute - 4, lambda t=t: platform.change_password(t.victim.customer_id)))
        acts.append((minute, lambda t=t: _test_payment(t, ring, platform)))
        for _ in range(t.rng.randrange(2, 4)):
            minute += t.rng.randrange(3, 15)
            mule, share = ring.mules[t.rng.randrange(len(ring.mules))], t.rng.randrange(33, 50)
            acts.append((minute, lambda t=t, m=mule, s=share: _drain(t, m, s, platform)))
    return acts


def _attempt_id(kind: str, payer: str, key: str) -> str:
    return payments._id(kind, payer, key)


def _test_payment(t: Takeover, ring: FraudRing, platform: Platform) -> None:
    fen = t.rng.randrange(5_00, 50_00)
    _labelled(
        t,
        platform,
        "qrp_",
        lambda: platform.qr_pay(
            t.victim.customer_id, ring.merchant, fen, t.context, genuine=False, holds_factor=t.holds_factor
        ),
    )


def _drain(t: Takeover, mule: Agent, share: int, platform: Platform) -> None:
    fen = min(platform.balance(t.victim.customer_id) * share // 100, 8_000_00)
    if fen < 10_00:
        return
    _labelled(
        t,
        platform,
        "p2p_",
        lambda: platform.p2p(
            t.victim.customer_id, mule.customer_id, fen, t.context, genuine=False, holds_factor=t.holds_factor
        ),
    )


def _labelled(t: Takeover, platform: Platform, prefix: str, pay) -> None:
    """The attempt's payment id is known before the outcome: the platform derives it from the client key."""
    key = f"{platform.run_id}.{platform.n + 1}"
    pay()
    t.attempts += 1
    t.record(_attempt_id(prefix, t.victim.customer_id, key))


@dataclass
class Change:
    """An honest customer's change on `day`: a new phone (for good), a trip (`days` long) or a new card."""

    agent: Agent
    kind: str
    day: int
    days: int = 0
    city: str = ""


def plant_changes(candidates: list[Agent], seed: int, days: int) -> list[Change]:
    """Honest new phones, trips, cards (`HONEST_CHANGES`) and passwords, each on a day of the run."""
    rng = random.Random(f"{seed}:honest-changes")
    passwords = random.Random(f"{seed}:honest-passwords")
    changes = []
    for agent in candidates:
        for kind, share in HONEST_CHANGES.items():
            if rng.random() < share:
                day = rng.randrange(days)
                changes.append(Change(agent, kind, day, rng.randrange(2, 6), _city(rng)))
        if passwords.random() < HONEST_PASSWORD_CHANGES:
            changes.append(Change(agent, "password", passwords.randrange(days)))
    return changes


def _city(rng: random.Random) -> str:
    from puhui.sim.agents import CITIES

    return CITIES[rng.randrange(len(CITIES))] + "-出差"


def change_acts(changes: list[Change], day: int, platform: Platform) -> list[Act]:
    """Today's honest changes, at 06:00 before anyone pays (a card at 08:00)."""
    acts: list[Act] = []
    for c in changes:
        cid = c.agent.customer_id
        if c.kind == "new_phone" and day == c.day:
            acts.append((360, lambda cid=cid: _new_phone(platform, cid)))
        elif c.kind == "travel" and day in (c.day, c.day + c.days):
            away = day == c.day
            acts.append((360, lambda cid=cid, away=away, city=c.city: _travel(platform, cid, away, city)))
        elif c.kind == "new_card" and day == c.day:
            acts.append((480, lambda cid=cid, n=c.agent.index: platform.bind_card(cid, 900_000_000 + n)))
        elif c.kind == "password" and day == c.day:
            acts.append((420, lambda cid=cid: platform.change_password(cid)))
    return acts


def _new_phone(platform: Platform, cid: str) -> None:
    old = platform.contexts[cid]
    platform.contexts[cid] = PaymentContext(device_id=f"{old.device_id}-new", location=old.location)


def _travel(platform: Platform, cid: str, away: bool, city: str) -> None:
    old = platform.contexts[cid]
    home = platform.homes.setdefault(cid, old.location or "")
    platform.contexts[cid] = PaymentContext(device_id=old.device_id, location=city if away else home)
