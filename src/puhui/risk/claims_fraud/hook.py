"""The claims-fraud model wired into adjudication (核赔): a scorer for `claims.service.report_claim`.

The claims module calls its scorer with the claim's facts just before the rules decide; this one
scores the claim's features (computed by the caller as of the report) and the rules send a claim
scoring at or above the model's threshold to manual review (人工审核) rather than straight through."""

from __future__ import annotations

from decimal import Decimal

from puhui.insurance.claims.models import ClaimFacts, ReviewRules
from puhui.insurance.claims.service import Scorer
from puhui.risk.claims_fraud.model import ClaimsFraudModel


def scorer_for(model: ClaimsFraudModel, row: dict[str, float], seen: list[Decimal]) -> Scorer:
    """A scorer giving this claim's score (and noting it in `seen`, for the caller to keep)."""

    def score(_facts: ClaimFacts) -> Decimal:
        value = model.score(row)
        seen.append(value)
        return value

    return score


def review_rules(model: ClaimsFraudModel, base: ReviewRules = ReviewRules()) -> ReviewRules:
    """The review rules with the model's threshold as the fraud score that sends a claim to review."""
    return ReviewRules(amount_above=base.amount_above, fraud_score_from=model.review_from)
