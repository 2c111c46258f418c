"""Claims-fraud features (理赔反欺诈特征), computed as of the moment a claim is reported: only what was
known then (the policy, the claim itself, the claims reported before it, the buyer's return history).

A `ClaimBook` keeps the history the features look back on: each customer's earlier claims and every
document hash seen on an earlier claim (any customer's). `features(view)` reads the book; `add(view)`
records the claim after it is scored, so a claim never sees itself or anything after it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

WAITING_DAYS = 30  # the medical product's waiting period (等待期) for illness
JUST_AFTER_DAYS = 15  # an illness claim this soon after the waiting period ends is "just after" it
LOOKBACK_DAYS = 90

# The usual (median) claim net of social insurance by age band and kind, in fen: the norm a claim's
# amount is compared with (件均赔款基准). Upper bounds of the bands are inclusive.
NORMS: tuple[tuple[int, int, int], ...] = (
    (30, 1_200_00, 2_500_00),  # (max age, illness, accident)
    (40, 1_500_00, 2_800_00),
    (50, 2_000_00, 3_000_00),
    (60, 2_800_00, 3_500_00),
    (200, 3_800_00, 4_000_00),
)

FEATURES = (
    "days_since_start",
    "just_after_waiting",
    "amount_vs_norm",
    "claims_90d",
    "document_reuse",
    "report_lag_days",
    "accident",
    "social_insurance",
    "age",
    "buyer_return_rate",
    "buyer_covered_orders",
)


@dataclass(frozen=True, slots=True)
class ClaimView:
    """A medical claim as the features see it (amounts in fen)."""

    customer_id: str
    policy_start: dt.date
    event_date: dt.date
    reported_date: dt.date
    kind: str  # illness | accident
    billed: int
    social_insurance_paid: int
    age: int
    social_insurance: bool
    document_hashes: tuple[str, ...]
    buyer_orders: int = 0  # return-shipping orders with cover (退货运费险) before the claim
    buyer_returns: int = 0


def norm(age: int, kind: str) -> int:
    """The age band's usual claim in fen for this kind of loss."""
    for max_age, illness, accident in NORMS:
        if age <= max_age:
            return accident if kind == "accident" else illness
    raise ValueError(f"no norm for age {age}")


@dataclass
class ClaimBook:
    """The history the features look back on (理赔历史): earlier claims per customer, document hashes seen."""

    reported: dict[str, list[dt.date]] = field(default_factory=lambda: defaultdict(list))
    documents: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def features(self, claim: ClaimView) -> dict[str, float]:
        """The claim's features as of its report, from the book as it stands (the claim not in it)."""
        since_start = (claim.event_date - claim.policy_start).days
        after_waiting = since_start - WAITING_DAYS
        since = claim.reported_date - dt.timedelta(days=LOOKBACK_DAYS)
        earlier = self.reported.get(claim.customer_id, [])
        net = claim.billed - claim.social_insurance_paid
        return {
            "days_since_start": float(since_start),
            "just_after_waiting": float(claim.kind == "illness" and 0 <= after_waiting < JUST_AFTER_DAYS),
            "amount_vs_norm": net / norm(claim.age, claim.kind),
            "claims_90d": float(sum(1 for day in earlier if since <= day <= claim.reported_date)),
            "document_reuse": float(sum(self.documents.get(h, 0) for h in set(claim.document_hashes))),
            "report_lag_days": float((claim.reported_date - claim.event_date).days),
            "accident": float(claim.kind == "accident"),
            "social_insurance": float(claim.social_insurance),
            "age": float(claim.age),
            "buyer_return_rate": claim.buyer_returns / claim.buyer_orders if claim.buyer_orders else 0.0,
            "buyer_covered_orders": float(claim.buyer_orders),
        }

    def add(self, claim: ClaimView) -> None:
        """Record a reported claim: later claims see it."""
        self.reported[claim.customer_id].append(claim.reported_date)
        for h in set(claim.document_hashes):
            self.documents[h] += 1
