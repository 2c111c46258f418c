"""Suitability (投资者适当性管理): the risk questionnaire (风险测评) scores a customer C1–C5 (风险承受能力),
products carry R1–R5 (产品风险等级), and a customer may buy a product only at or under their level.

The questionnaire is data, versioned: each question's choices carry scores, and the total maps to a
level by score bands. A completed questionnaire is stored with its date and stops being valid after
`valid_days` (a year by default); after that, or without one, the customer must take it again.
Only Class III wallets (Ⅲ类支付账户) may buy investment products at all.
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
from puhui.identity.kyc import tier_of
from puhui.identity.models import WalletTier
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


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    choices: tuple[Choice, ...]

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)


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
        return sum(by_id[qid].choice(key).score for qid, key in answers.items())  # type: ignore[union-attr]  # answers were validated against the questionnaire, so choice() finds the key

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
                {"id": q.id, "text": q.text, "choices": [{"key": c.key, "text": c.text} for c in q.choices]}
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

QUESTIONNAIRES = {V2026_1.version: V2026_1}
CURRENT = V2026_1


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


def record_answers(
    uow: UnitOfWork, customer_id: str, version: str, answers: dict[str, str], valid_days: int | None = None
) -> dict:
    """Score and store one completed questionnaire; it replaces any earlier one from now on."""
    questionnaire = QUESTIONNAIRES.get(version)
    if questionnaire is None or questionnaire is not CURRENT:
        raise InvalidAnswers(f"questionnaire version {version!r} is not the current one ({CURRENT.version})")
    score = questionnaire.score(answers)
    level = questionnaire.level_for(score)
    customer_ops.require_active(uow.connection, customer_id, lock=True)
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
    return CustomerLevel[row["level"]] if is_valid(row) else None


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
    level = CustomerLevel[row["level"]] if valid else None
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
