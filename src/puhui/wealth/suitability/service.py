"""Suitability (投资者适当性管理): the risk questionnaire (风险测评) scores a customer C1–C5 (风险承受能力),
products carry R1–R5 (产品风险等级), and a customer may buy a product only at or under their level.

The questionnaire is data, versioned: each question's choices carry scores, and the total maps to a
level by score bands. Questions and choices carry Chinese and English text. A stored assessment keeps the
version it was answered on, so a version is never changed once published: a change is a new version
(2026.2 made the age bands disjoint: 2026.1's "56–65岁" and "65岁以上" both held a 65-year-old), and only
the current version takes new answers.

The age question is not the customer's to answer: it is read from the resident ID the customer signed up
with (周岁 on the business date, as insurance reads an insured's age), see `record_answers`.

A completed questionnaire is stored with its date and stops being valid after `valid_days` (a year by
default); after that, or without one, the customer must take it again. Only Class III wallets (Ⅲ类支付账户)
may buy investment products at all.
"""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events import outbox
from puhui.identity import customers as customer_ops
from puhui.identity import service as identity
from puhui.identity.kyc import tier_of
from puhui.identity.models import WalletTier, age_on
from puhui.identity.vault import Vault
from puhui.wealth.errors import (
    AssessmentLimitReached,
    InvalidAnswers,
    QuestionnaireRequired,
    UnsuitableProduct,
    WalletClassTooLow,
)
from puhui.wealth.suitability.tables import risk_assessments

TOPIC = "wealth"
ASSESSMENTS_A_DAY = 3
"""How often a customer may complete the questionnaire on one business date. Answering it again and again
until the level unlocks a riskier product defeats the assessment (反复测评); distributors cap retakes."""


class CustomerLevel(enum.IntEnum):
    """风险承受能力等级: C1 conservative … C5 aggressive."""

    C1 = 1
    C2 = 2
    C3 = 3
    C4 = 4
    C5 = 5


class ProductRisk(enum.IntEnum):
    """产品风险等级: R1 low … R5 high."""

    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5


@dataclass(frozen=True)
class Choice:
    key: str
    text: str
    score: int
    text_en: str = ""
    ages: tuple[int, int] | None = None  # an age question's band, both ends included (周岁)


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    choices: tuple[Choice, ...]
    text_en: str = ""

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)

    @property
    def from_id(self) -> bool:
        """Answered from the customer's resident ID (age bands), not by the customer."""
        return any(c.ages is not None for c in self.choices)

    def choice_for_age(self, age: int) -> Choice:
        found = [c for c in self.choices if c.ages is not None and c.ages[0] <= age <= c.ages[1]]
        if len(found) != 1:  # the bands are disjoint and cover every age: a published version's own test
            raise ValueError(f"question {self.id!r}: {len(found)} choices for age {age}")
        return found[0]


@dataclass(frozen=True)
class Questionnaire:
    """One version of the questionnaire: questions, and score bands as (lowest score, level)."""

    version: str
    questions: tuple[Question, ...]
    bands: tuple[tuple[int, CustomerLevel], ...]
    valid_days: int = 365

    def score(self, answers: dict[str, str]) -> int:
        """The total score; every question answered once with one of its choices, nothing else."""
        by_id = {q.id: q for q in self.questions}
        problems = [f"unknown question {qid!r}" for qid in answers if qid not in by_id]
        problems += [f"question {q.id!r} is not answered" for q in self.questions if q.id not in answers]
        problems += [
            f"question {qid!r} has no choice {key!r}"
            for qid, key in answers.items()
            if qid in by_id and by_id[qid].choice(key) is None
        ]
        if problems:
            raise InvalidAnswers("; ".join(problems), problems=problems)
        # answers were validated against the questionnaire: choice() finds every key
        return sum(choice.score for qid, key in answers.items() if (choice := by_id[qid].choice(key)) is not None)

    def level_for(self, score: int) -> CustomerLevel:
        level = self.bands[0][1]
        for lowest, band_level in self.bands:
            if score >= lowest:
                level = band_level
        return level

    def as_json(self) -> dict:
        return {
            "version": self.version,
            "valid_days": self.valid_days,
            "questions": [
                {
                    "id": q.id,
                    "text": q.text,
                    "text_en": q.text_en or q.text,
                    "from_id": q.from_id,
                    "choices": [{"key": c.key, "text": c.text, "text_en": c.text_en or c.text} for c in q.choices],
                }
                for q in self.questions
            ],
            "bands": [{"min_score": lowest, "level": level.name} for lowest, level in self.bands],
        }


def _q(qid: str, text: str, *choices: tuple[str, int]) -> Question:
    return Question(qid, text, tuple(Choice(chr(ord("A") + i), t, s) for i, (t, s) in enumerate(choices)))


V2026_1 = Questionnaire(
    version="2026.1",
    questions=(
        _q("age", "您的年龄 (age)", ("65岁以上", 1), ("56–65岁", 2), ("46–55岁", 3), ("18–30岁", 4), ("31–45岁", 5)),
        _q(
            "income",
            "家庭年收入 (household income per year)",
            ("5万元以下", 1),
            ("5–20万元", 2),
            ("20–50万元", 3),
            ("50–100万元", 4),
            ("100万元以上", 5),
        ),
        _q(
            "share",
            "可用于投资的资产占总资产比例 (share of assets to invest)",
            ("70%以上", 1),
            ("50–70%", 2),
            ("30–50%", 3),
            ("10–30%", 4),
            ("10%以下", 5),
        ),
        _q(
            "experience",
            "投资经验 (years investing in funds, stocks, bonds)",
            ("没有经验", 1),
            ("2年以下", 2),
            ("2–5年", 3),
            ("5–10年", 4),
            ("10年以上", 5),
        ),
        _q(
            "knowledge",
            "金融投资知识 (investment knowledge)",
            ("基本没有", 1),
            ("了解一些", 2),
            ("比较了解", 4),
            ("非常了解", 5),
        ),
        _q(
            "horizon",
            "计划投资期限 (how long the money can stay invested)",
            ("1年以内", 1),
            ("1–3年", 3),
            ("3年以上", 5),
        ),
        _q(
            "goal",
            "投资目标 (goal)",
            ("保本保息", 1),
            ("稳健增值", 2),
            ("平衡收益与风险", 3),
            ("追求较高收益", 4),
            ("追求最高收益", 5),
        ),
        _q(
            "loss",
            "可承受的最大亏损 (the largest loss you can bear)",
            ("不能承受亏损", 1),
            ("5%以内", 2),
            ("5–10%", 3),
            ("10–30%", 4),
            ("30%以上", 5),
        ),
    ),
    bands=(
        (0, CustomerLevel.C1),
        (15, CustomerLevel.C2),
        (22, CustomerLevel.C3),
        (29, CustomerLevel.C4),
        (35, CustomerLevel.C5),
    ),
)


def _b(qid: str, zh: str, en: str, *choices: tuple[str, str, int] | tuple[str, str, int, tuple[int, int]]) -> Question:
    """A bilingual question: choices as (Chinese, English, score[, age band])."""
    return Question(
        qid,
        zh,
        tuple(Choice(chr(ord("A") + i), c[0], c[2], c[1], c[3] if len(c) > 3 else None) for i, c in enumerate(choices)),
        en,
    )


OLDEST = 200
"""The upper end of the open age band: no resident ID holder is older."""

V2026_2 = Questionnaire(
    version="2026.2",
    questions=(
        _b(
            "age",
            "您的年龄",
            "Your age",
            ("65岁及以上", "65 or older", 1, (65, OLDEST)),
            ("56–64岁", "56–64", 2, (56, 64)),
            ("46–55岁", "46–55", 3, (46, 55)),
            ("30岁及以下", "30 or younger", 4, (0, 30)),
            ("31–45岁", "31–45", 5, (31, 45)),
        ),
        _b(
            "income",
            "家庭年收入",
            "Household income per year",
            ("5万元以下", "under ¥50,000", 1),
            ("5–20万元", "¥50,000–200,000", 2),
            ("20–50万元", "¥200,000–500,000", 3),
            ("50–100万元", "¥500,000–1,000,000", 4),
            ("100万元以上", "over ¥1,000,000", 5),
        ),
        _b(
            "share",
            "可用于投资的资产占总资产比例",
            "Share of your assets you would invest",
            ("70%以上", "over 70%", 1),
            ("50–70%", "50–70%", 2),
            ("30–50%", "30–50%", 3),
            ("10–30%", "10–30%", 4),
            ("10%以下", "under 10%", 5),
        ),
        _b(
            "experience",
            "投资经验（基金、股票、债券）",
            "Years investing in funds, stocks or bonds",
            ("没有经验", "none", 1),
            ("2年以下", "under 2 years", 2),
            ("2–5年", "2–5 years", 3),
            ("5–10年", "5–10 years", 4),
            ("10年以上", "over 10 years", 5),
        ),
        _b(
            "knowledge",
            "金融投资知识",
            "Investment knowledge",
            ("基本没有", "hardly any", 1),
            ("了解一些", "some", 2),
            ("比较了解", "good", 4),
            ("非常了解", "thorough", 5),
        ),
        _b(
            "horizon",
            "计划投资期限",
            "How long the money can stay invested",
            ("1年以内", "under 1 year", 1),
            ("1–3年", "1–3 years", 3),
            ("3年以上", "over 3 years", 5),
        ),
        _b(
            "goal",
            "投资目标",
            "Your goal",
            ("保本保息", "keep the capital and its interest safe", 1),
            ("稳健增值", "steady growth", 2),
            ("平衡收益与风险", "balance return and risk", 3),
            ("追求较高收益", "higher returns", 4),
            ("追求最高收益", "the highest returns", 5),
        ),
        _b(
            "loss",
            "可承受的最大亏损",
            "The largest loss you can bear",
            ("不能承受亏损", "no loss at all", 1),
            ("5%以内", "up to 5%", 2),
            ("5–10%", "5–10%", 3),
            ("10–30%", "10–30%", 4),
            ("30%以上", "over 30%", 5),
        ),
    ),
    bands=V2026_1.bands,
)

QUESTIONNAIRES = {q.version: q for q in (V2026_1, V2026_2)}
"""Every published version, for the assessments stored under it; only CURRENT takes new answers."""
CURRENT = V2026_2


# ---------------------------------------------------------------------------------------------
# The match rule (pure)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    code: str | None
    reason: str


def check_suitability(customer_level: CustomerLevel | None, product_risk: ProductRisk) -> Verdict:
    """C_n may buy R_1..R_n; without a valid questionnaire (None) nothing may be bought."""
    if customer_level is None:
        return Verdict(False, QuestionnaireRequired.code, QuestionnaireRequired.title)
    if product_risk > customer_level:
        return Verdict(
            False,
            UnsuitableProduct.code,
            f"the product is {product_risk.name}, above the customer's level {customer_level.name} "
            f"(a {customer_level.name} customer may buy up to R{int(customer_level)})",
        )
    return Verdict(True, None, f"{product_risk.name} is at or under {customer_level.name}")


def may_invest(tier: WalletTier | None) -> bool:
    return tier is not None and tier >= WalletTier.III


# ---------------------------------------------------------------------------------------------
# Storage


def answers_from_id(questionnaire: Questionnaire, answers: dict[str, str], age: int) -> dict[str, str]:
    """`answers` with every question answered from the ID (`from_id`: the age) set to the ID's answer,
    whatever was sent for it (or if nothing was)."""
    return {**answers, **{q.id: q.choice_for_age(age).key for q in questionnaire.questions if q.from_id}}


def record_answers(
    uow: UnitOfWork,
    customer_id: str,
    version: str,
    answers: dict[str, str],
    valid_days: int | None = None,
    *,
    vault: Vault | None = None,
) -> dict:
    """Score and store one completed questionnaire; it replaces any earlier one from now on.

    The age answer comes from the customer's resident ID (its birth date, 周岁 on the business date, read
    with `vault` as insurance reads an insured's age), not from what was sent: a typed age that contradicts
    the ID is ignored and the ID's band is scored and stored, and the answer may be left out. Ignoring it
    rather than refusing (422) because the age is a fact the platform already holds from real-name
    verification (实名), not the customer's judgement: asking again can only add a slip or a way to raise the
    level (a 36-year-old answering 18–30, a 70-year-old answering 31–45), and refusing would block a customer
    over a question they need not answer at all; the questionnaire marks the question `from_id`, so a form can
    leave it out. Callers answering on a customer's behalf with no vault (the simulator's and tests' own
    set-ups) are taken as they answer."""
    questionnaire = QUESTIONNAIRES.get(version)
    if questionnaire is None or questionnaire is not CURRENT:
        raise InvalidAnswers(f"questionnaire version {version!r} is not the current one ({CURRENT.version})")
    customer_ops.require_active(uow.connection, customer_id, lock=True)
    if vault is not None:
        born = identity.birth_date_of(uow.connection, vault, customer_id)
        if born is None:
            raise InvalidAnswers("the customer's age cannot be read from their resident ID")
        answers = answers_from_id(questionnaire, answers, age_on(born, clock.business_date()))
    score = questionnaire.score(answers)
    level = questionnaire.level_for(score)
    today = clock.business_date().isoformat()
    taken = uow.connection.execute(
        select(func.count()).where(
            risk_assessments.c.customer_id == customer_id, risk_assessments.c.business_date == today
        )
    ).scalar_one()
    if taken >= ASSESSMENTS_A_DAY:
        raise AssessmentLimitReached(
            f"the questionnaire was taken {taken} times today; at most {ASSESSMENTS_A_DAY} a day: try again tomorrow",
            limit=ASSESSMENTS_A_DAY,
        )
    now = clock.now_micros()
    days = questionnaire.valid_days if valid_days is None else valid_days
    row = {
        "id": "ra_" + uuid.uuid4().hex[:24],
        "customer_id": customer_id,
        "version": questionnaire.version,
        "answers": json.dumps(answers, sort_keys=True),
        "score": score,
        "level": level.name,
        "business_date": today,
        "assessed_at": now,
        "expires_at": now + days * clock.DAY_MICROS,
    }
    uow.execute(risk_assessments.insert().values(**row))
    outbox.publish(
        uow,
        TOPIC,
        "wealth.risk_assessed",
        customer_id,
        {"customer_id": customer_id, "level": level.name, "score": score, "version": questionnaire.version},
    )
    return row


def latest_assessment(connection: Connection, customer_id: str) -> dict | None:
    row = (
        connection.execute(
            select(risk_assessments)
            .where(risk_assessments.c.customer_id == customer_id)
            .order_by(risk_assessments.c.assessed_at.desc(), risk_assessments.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def is_valid(row: dict | None, now_micros: int | None = None) -> bool:
    now = clock.now_micros() if now_micros is None else now_micros
    return row is not None and now < row["expires_at"]


def level_of(connection: Connection, customer_id: str) -> CustomerLevel | None:
    """The customer's level from a questionnaire still valid now; None when missing or expired."""
    row = latest_assessment(connection, customer_id)
    return CustomerLevel[row["level"]] if row is not None and is_valid(row) else None


def require_level(connection: Connection, customer_id: str) -> CustomerLevel:
    """The level of a Class III customer with a valid questionnaire, or the refusal."""
    if not may_invest(tier_of(connection, customer_id)):
        raise WalletClassTooLow()
    level = level_of(connection, customer_id)
    if level is None:
        raise QuestionnaireRequired()
    return level


def require_suitable(connection: Connection, customer_id: str, product_risk: ProductRisk) -> CustomerLevel:
    """For a purchase: refuses with wallet_class_too_low, questionnaire_required or unsuitable_product."""
    level = require_level(connection, customer_id)
    verdict = check_suitability(level, product_risk)
    if not verdict.allowed:
        raise UnsuitableProduct(verdict.reason, level=level.name, product_risk=product_risk.name)
    return level


def _iso(micros: int) -> str:
    return clock.from_micros(micros).isoformat()


def assessment_json(row: dict) -> dict:
    return {
        "id": row["id"],
        "customer_id": row["customer_id"],
        "version": row["version"],
        "score": row["score"],
        "level": row["level"],
        "business_date": row["business_date"],
        "assessed_at": _iso(row["assessed_at"]),
        "expires_at": _iso(row["expires_at"]),
    }


def suitability_json(connection: Connection, customer_id: str) -> dict:
    """What the customer may buy now, and why not when they may not."""
    customer_ops.get_row(connection, customer_id)  # NotFound for an unknown customer
    row = latest_assessment(connection, customer_id)
    valid = is_valid(row)
    tier = tier_of(connection, customer_id)
    level = CustomerLevel[row["level"]] if valid and row is not None else None
    blocked = None if may_invest(tier) else WalletClassTooLow.code
    return {
        "customer_id": customer_id,
        "wallet_tier": tier.name if tier else None,
        "assessment": assessment_json(row) if row else None,
        "valid": valid,
        "level": level.name if level else None,
        "max_product_risk": f"R{int(level)}" if level and not blocked else None,
        "refusal": blocked or (None if level else QuestionnaireRequired.code),
    }
