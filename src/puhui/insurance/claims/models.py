"""Pure rules for underwriting (核保) by health declaration (健康告知) and for adjudicating a medical
claim (自动核赔). No I/O; money in integer fen.

Underwriting: a product version may carry a questionnaire; each question names what a "yes" means:
accept (承保), exclude a condition (除外承保) or decline (拒保). Declining wins over excluding.

Adjudication: `models.claim_benefit` gives the arithmetic (deductible, ratio, annual limit, waiting
period, and what other cover already paid for the same bill); here a claim is first declined on a
cancelled policy, an excluded condition or an illness in the waiting period (等待期), and after the
arithmetic sent to review (人工审核) when it is large, comes without documents, scores as risky or is for an
event within the product's early-claim period (`early_claim`: soon after the cover starts, accidents too).

Indemnity (补偿原则): medical cover (百万医疗) reimburses a loss and never pays more than it. The loss is
one medical event of one insured person (`event_category`); what the insured's other claims for the
event have paid (`ClaimFacts.other_benefits_paid`) is deducted, so the claims of every policy for the
event add up to at most the bill less social insurance. Approving a claim under review
(`approve_on_review`) pays at most what the review showed."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from puhui.insurance import models
from puhui.insurance.errors import InsuranceProductInvalid

CONDITION_PATTERN = r"^[A-Z0-9][A-Z0-9.\-]{0,31}$"  # an ICD-10-style diagnosis code, e.g. "E11" or "C50.9"
QUESTION_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,31}$"


class Verdict(enum.StrEnum):
    """What a "yes" to a health question means for the policy."""

    accept = "accept"
    exclude = "exclude"
    decline = "decline"


@dataclass(frozen=True, slots=True)
class Question:
    """A health question (健康告知问题): its id, its text and what a "yes" means."""

    id: str
    text: str
    on_yes: Verdict
    condition: str | None = None  # the condition excluded when on_yes is exclude

    def __post_init__(self) -> None:
        if not re.match(QUESTION_PATTERN, self.id) or not self.text:
            raise InsuranceProductInvalid("a health question has an id and a text")
        if (self.on_yes is Verdict.exclude) != (self.condition is not None):
            raise InsuranceProductInvalid("a question excludes a condition exactly when its answer excludes")
        if self.condition is not None and not re.match(CONDITION_PATTERN, self.condition):
            raise InsuranceProductInvalid(f"{self.condition!r} is not a condition code")


@dataclass(frozen=True, slots=True)
class Underwriting:
    """The outcome of a health declaration: accepted, with the conditions excluded, or declined."""

    verdict: Verdict
    exclusions: tuple[str, ...] = ()
    declined_by: tuple[str, ...] = field(default=())


def check_questionnaire(questions: Sequence[Question]) -> None:
    """Question ids are unique within a questionnaire."""
    ids = [q.id for q in questions]
    if len(ids) != len(set(ids)):
        raise InsuranceProductInvalid("health question ids are unique")


def underwrite(questions: Sequence[Question], answers: Mapping[str, bool]) -> Underwriting:
    """Decide a health declaration (核保): every question answered and nothing else; any "yes" that
    declines declines; otherwise each "yes" that excludes adds its condition (sorted, once)."""
    asked = {q.id for q in questions}
    if set(answers) != asked:
        missing, unknown = sorted(asked - set(answers)), sorted(set(answers) - asked)
        raise HealthAnswersInvalid(f"answer every health question: missing {missing}, unknown {unknown}")
    declined = tuple(q.id for q in questions if answers[q.id] and q.on_yes is Verdict.decline)
    if declined:
        return Underwriting(Verdict.decline, declined_by=declined)
    excluded = sorted({q.condition for q in questions if answers[q.id] and q.condition is not None})
    return Underwriting(Verdict.exclude if excluded else Verdict.accept, tuple(excluded))


class HealthAnswersInvalid(InsuranceProductInvalid):
    """The health declaration does not answer exactly the product's questions."""

    code = "health_answers_invalid"
    title = "Answer exactly the product's health questions"


class Decision(enum.StrEnum):
    approved = "approved"
    declined = "declined"
    review = "review"


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What a claim reports and what the policy has used this policy year."""

    kind: models.LossKind
    condition: str
    event_date: dt.date
    billed: int
    social_insurance_paid: int
    has_documents: bool
    deductible_used: int
    paid_this_year: int
    fraud_score: Decimal | None = None
    other_benefits_paid: int = 0  # what the insured's other claims for the same event paid or owe (补偿)


def event_category(condition: str) -> str:
    """The diagnosis part of a medical event (出险事件), the ICD-10 category of the condition: the code
    before its first dot ("S52.5" → "S52"; "J18" → "J18").

    A claim carries who (the customer: on a Puhui policy the policyholder is the insured), what (the
    diagnosis code, the kind) and when (the event date, 出险日期); bills and documents are free text and
    files. One event is one insured person, one event date and one diagnosis category, whatever the
    policy, the kind, the amount or the documents: the same treatment reported as an accident on one
    policy and an illness on another, or coded S52 once and S52.5 again, is the same bill, and comparing
    amounts or documents would let a changed figure or a rescanned invoice through. The category rather
    than the full code, because one injury or illness coded more or less precisely on the same day is
    one hospital stay; a different illness on the same day has another category."""
    return condition.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class ReviewRules:
    """When a claim goes to a person (人工审核) rather than straight through."""

    amount_above: int = 50_000_00
    fraud_score_from: Decimal = Decimal("0.8")
    early_claims: bool = True  # an event within the product's `early_claim_days` of the cover start


@dataclass(frozen=True, slots=True)
class Adjudication:
    """The rules' answer: a decision, the benefit (provisional under review), the deductible it used,
    and the reasons."""

    decision: Decision
    benefit: int
    deductible_applied: int
    reasons: tuple[str, ...]


def adjudicate(
    product: models.MedicalProduct,
    cover: models.Cover,
    has_social_insurance: bool,
    exclusions: Sequence[str],
    cancelled_from: dt.date | None,
    facts: ClaimFacts,
    rules: ReviewRules,
) -> Adjudication:
    """Adjudicate a claim (自动核赔). The event date is in cover (else ClaimOutsideCover);
    `cancelled_from` is the first day a cancelled (退保) policy no longer covers."""
    benefit = models.claim_benefit(
        product,
        cover,
        facts.event_date,
        facts.kind,
        facts.billed,
        facts.social_insurance_paid,
        has_social_insurance,
        facts.deductible_used,
        facts.paid_this_year,
        facts.other_benefits_paid,
    )
    if cancelled_from is not None and facts.event_date >= cancelled_from:
        return Adjudication(Decision.declined, 0, 0, ("policy_cancelled",))
    if facts.condition in exclusions:
        return Adjudication(Decision.declined, 0, 0, ("excluded_condition",))
    if benefit.reason == "waiting_period":
        return Adjudication(Decision.declined, 0, 0, ("waiting_period",))
    flags = _review_flags(facts, benefit.payable, rules) + _early(product, cover, facts, rules)
    if flags:
        return Adjudication(Decision.review, benefit.payable, benefit.deductible_applied, flags)
    if benefit.payable == 0:
        return Adjudication(Decision.declined, 0, benefit.deductible_applied, (benefit.reason,))
    # what other cover paid mattered only beyond the deductible it stands in for
    deducted = ("other_benefits_deducted",) if facts.other_benefits_paid > benefit.deductible_applied else ()
    return Adjudication(Decision.approved, benefit.payable, benefit.deductible_applied, (benefit.reason, *deducted))


def approve_on_review(recomputed: Adjudication, shown: int) -> Adjudication:
    """What approving a claim under review decides (核赔通过): the rules again (`recomputed`), on what the
    policy and the event have used by the time of approval, so that what was paid since (another policy's
    claim for the same bill, the year's limit) is taken off; but never more than the review showed
    (`shown`, the benefit in the queue): what the policy or the event used since can lower a benefit,
    never raise it. Held to the review's figure the reasons say `capped_at_review`."""
    if recomputed.decision is not Decision.approved or recomputed.benefit <= shown:
        return recomputed
    if shown <= 0:
        return Adjudication(Decision.declined, 0, recomputed.deductible_applied, ("capped_at_review",))
    return Adjudication(
        Decision.approved, shown, recomputed.deductible_applied, (*recomputed.reasons, "capped_at_review")
    )


def _review_flags(facts: ClaimFacts, payable: int, rules: ReviewRules) -> tuple[str, ...]:
    flags = []
    if payable > rules.amount_above:
        flags.append("amount_above_threshold")
    if not facts.has_documents:
        flags.append("documents_missing")
    if facts.fraud_score is not None and facts.fraud_score >= rules.fraud_score_from:
        flags.append("fraud_score")
    return tuple(flags)


def _early(
    product: models.MedicalProduct, cover: models.Cover, facts: ClaimFacts, rules: ReviewRules
) -> tuple[str, ...]:
    """`early_claim` when the event is within the product's early-claim period (出险距生效日过近), counted
    as the waiting period is (the first day of cover is day 0): whether the loss came before the policy
    is for a person to see, whatever the amount, so a claim that pays nothing is flagged too (it would use
    the year's deductible)."""
    early = rules.early_claims and (facts.event_date - cover.start).days < product.early_claim_days
    return ("early_claim",) if early else ()
