"""The people of the simulated insurance book (保险模拟人群): ages, social insurance, health, how often
they shop with return-shipping cover and return goods, and the few who defraud (骗保) — each from its
own seeded RNG, so one seed is one book.

Typologies planted (ground truth, 真值): inflated bills (虚增费用), documents reused from an earlier claim
(重复材料), illness claimed just after the waiting period (带病投保, 等待期后即出险), staged returns with a
colluding merchant (商家合谋刷退货)."""

from __future__ import annotations

import datetime as dt
import enum
import random
from dataclasses import dataclass, field

# Annual claim frequency (年出险率) by age band: any claimable medical expense, rising with age.
INCIDENCE: tuple[tuple[int, float], ...] = ((30, 0.8), (40, 1.0), (50, 1.4), (60, 2.0), (200, 3.0))
ACCIDENT_SHARE = 0.15
ILLNESS_CODES = ("J18", "K35", "K80", "N20", "I10", "E11", "M51", "J45")
ACCIDENT_CODES = ("S82", "S52", "S06", "T14")


class Fraud(enum.StrEnum):
    inflated_bill = "ins_inflated_bill"
    duplicate_documents = "ins_duplicate_docs"
    after_waiting = "ins_after_waiting"
    staged_return = "ins_staged_return"


@dataclass
class Person:
    """A simulated customer (投保人 and online buyer)."""

    index: int
    rng: random.Random
    age: int  # 周岁 all through the warm-up, as the platform reads it from `born` on a policy's cover start
    born: dt.date  # the birth date the person's ID number carries
    social_insurance: bool
    buys_medical: bool
    answers: dict[str, bool]
    orders_per_day: float
    return_rate: float
    fraud: Fraud | None = None
    buy_day: int = 0  # the warm-up day (negative) the medical policy is bought
    customer_id: str = ""
    policy_id: str | None = None
    policy_start: dt.date | None = None
    claims_made: int = 0
    invoices: list[bytes] = field(default_factory=list)


def _age(rng: random.Random) -> int:
    return min(70, max(18, int(rng.triangular(18, 70, 34))))


def born_for(age: int, first: dt.date, last: dt.date, rng: random.Random) -> dt.date:
    """A birth date (for the ID number) making one `age` in full years (周岁) on every day from `first` to
    `last` (at most 350 days on): the last birthday falls on or before `first`, the next after `last`."""
    since = rng.randrange(max(1, 365 - (last - first).days - 1))  # days from the last birthday to `first`
    birthday = first - dt.timedelta(days=since)
    try:
        return birthday.replace(year=birthday.year - age)
    except ValueError:  # 29 February in a year that has none: the day before keeps the age
        return birthday.replace(year=birthday.year - age, day=28)


def annual_incidence(age: int) -> float:
    for max_age, rate in INCIDENCE:
        if age <= max_age:
            return rate
    return INCIDENCE[-1][1]


def _answers(rng: random.Random, age: int) -> dict[str, bool]:
    """The health declaration (健康告知): hypertension and diabetes are excluded, a cancer history declines."""
    older = age >= 45
    return {
        "hypertension": rng.random() < (0.12 if older else 0.03),
        "diabetes": rng.random() < (0.08 if older else 0.02),
        "cancer": rng.random() < 0.015,
    }


def make_person(index: int, seed: int, fraud_share: float, warmup: int, start: dt.date) -> Person:
    """A person of the book, born (their ID says) so they are their age in full years from the warm-up's
    first day to a week past `start`, the run's first day: whenever their policy's cover starts."""
    rng = random.Random(f"{seed}:insurance:{index}")
    age = _age(rng)
    first = start - dt.timedelta(days=warmup)  # the birth date from an RNG of its own: the book is drawn as before
    born = born_for(age, first, start + dt.timedelta(days=7), random.Random(f"{seed}:insurance-born:{index}"))
    serial = rng.random() < 0.02
    person = Person(
        index,
        rng,
        age,
        born,
        social_insurance=rng.random() < 0.8,
        buys_medical=rng.random() < 0.75,
        answers=_answers(rng, age),
        orders_per_day=rng.uniform(0.03, 0.15),
        return_rate=rng.uniform(0.5, 0.8) if serial else rng.uniform(0.05, 0.15),
        buy_day=-rng.randrange(1, warmup + 1),
    )
    if rng.random() < fraud_share:
        person.fraud = rng.choice((Fraud.inflated_bill, Fraud.duplicate_documents, Fraud.after_waiting))
        person.buys_medical = True
        person.answers = {"hypertension": False, "diabetes": False, "cancer": False}  # they declare nothing
        if rng.random() < 0.5:
            person.return_rate = rng.uniform(0.5, 0.8)  # many who defraud one insurer abuse another cover
        if person.fraud is Fraud.after_waiting:
            person.buy_day = -rng.randrange(20, 31)  # so the waiting period ends within the run
    return person


def claim_today(person: Person) -> bool:
    """Whether a genuine claimable expense falls on the person today (by age band)."""
    return person.rng.random() < annual_incidence(person.age) / 365


def fraud_today(person: Person, day: int) -> bool:
    """Whether the fraudster files a fraudulent claim today: about one every 30 days; the one who hid an
    illness files once, in the fortnight after the waiting period."""
    if person.fraud is Fraud.after_waiting:
        return person.claims_made == 0 and day >= person.buy_day + 1 + 31 and person.rng.random() < 0.25
    return person.fraud is not None and person.rng.random() < 1 / 30


def genuine_bill(person: Person, accident: bool) -> int:
    """A claim's billed amount in fen: lognormal, median 1,500 CNY (accidents 3,000), many under the
    deductible (免赔额), a few hospital stays far above it."""
    median = 3_000 if accident else 1_500
    return max(50_00, int(person.rng.lognormvariate(0, 1.3) * median * 100))


def invoice(person: Person, serial: int, billed: int) -> bytes:
    """A unique invoice (发票) the hospital issued for this expense."""
    return f"invoice|{person.customer_id}|{serial}|{billed}|{person.rng.getrandbits(64):x}".encode()
