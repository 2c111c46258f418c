"""The claims-fraud model wired into adjudication (核赔): a scorer for `claims.service.report_claim`.

The claims module calls its scorer with the claim's facts just before the rules decide; this one
scores the claim's features (computed by the caller as of the report) and the rules send a claim
scoring at or above the model's threshold to manual review (人工审核) rather than straight through."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection

from puhui import clock
from puhui.insurance import service as policies
from puhui.insurance.claims import queries
from puhui.insurance.claims.models import ClaimFacts, ReviewRules
from puhui.insurance.claims.service import ClaimReport, Scorer, documents_hash
from puhui.insurance.errors import PolicyNotFound
from puhui.insurance.returns import queries as returns
from puhui.risk.claims_fraud.features import ClaimBook, ClaimView
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


class ModelScoring:
    """The model in front of the claims API (`claims.service.ClaimScoring`): each claim's features are read
    from the database as of its report (the policy, the customer's earlier claims, every earlier use of its
    documents, the customer's return-shipping history), scored, and held for review from the threshold."""

    def __init__(self, model: ClaimsFraudModel) -> None:
        self.model = model
        self.rules = review_rules(model)

    def view(self, connection: Connection, customer_id: str, report: ClaimReport) -> ClaimView | None:
        try:
            policy = policies.read_policy(connection, customer_id, report.policy_id)
        except PolicyNotFound:
            return None  # the claim is refused for its policy; nothing to score
        counts = returns.buyer_counts(connection, customer_id)
        hashes = (documents_hash(report.documents), *(hashlib.sha256(d.content).hexdigest() for d in report.documents))
        return ClaimView(
            customer_id,
            dt.date.fromisoformat(policy["start_date"]),
            report.event_date,
            clock.business_date(),
            report.kind.value,
            report.billed,
            report.social_insurance_paid,
            int(policy["insured_age"]),
            bool(policy["social_insurance"]),
            hashes,
            counts.orders,
            counts.returns,
        )

    def features(self, connection: Connection, view: ClaimView) -> dict[str, float]:
        book = ClaimBook()
        book.reported = defaultdict(list, {view.customer_id: queries.reported_dates(connection, view.customer_id)})
        book.documents = defaultdict(int, queries.document_uses(connection, view.document_hashes))
        return book.features(view)

    def for_claim(
        self, connection: Connection, customer_id: str, report: ClaimReport
    ) -> tuple[Scorer | None, ReviewRules]:
        view = self.view(connection, customer_id, report)
        if view is None:
            return None, self.rules
        row = self.features(connection, view)
        return scorer_for(self.model, row, []), self.rules
