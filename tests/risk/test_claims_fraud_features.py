"""Claims-fraud features (理赔反欺诈特征) on hand-made claims, values worked out by hand; the threshold and
the evaluation on hand-made scores."""

from __future__ import annotations

import datetime as dt

import pytest

from puhui.risk.claims_fraud.features import FEATURES, ClaimBook, ClaimView, norm
from puhui.risk.claims_fraud.model import best_f1_threshold, evaluate, fit
from puhui.risk.errors import MalformedData

D = dt.date


def view(**changes: object) -> ClaimView:
    base: dict[str, object] = {
        "customer_id": "c1",
        "policy_start": D(2026, 1, 1),
        "event_date": D(2026, 2, 5),
        "reported_date": D(2026, 2, 7),
        "kind": "illness",
        "billed": 5_000_00,
        "social_insurance_paid": 2_000_00,
        "age": 35,
        "social_insurance": True,
        "document_hashes": ("a", "b"),
        "buyer_orders": 8,
        "buyer_returns": 2,
    }
    return ClaimView(**{**base, **changes})  # type: ignore[arg-type]


def test_a_first_claim_just_after_the_waiting_period() -> None:
    row = ClaimBook().features(view())
    assert set(row) == set(FEATURES)
    assert row["days_since_start"] == 35  # 1 Jan to 5 Feb
    assert row["just_after_waiting"] == 1.0  # 35 - 30 = 5 days after, within the fortnight
    assert row["amount_vs_norm"] == pytest.approx(3_000_00 / 1_500_00)  # (5,000 - 2,000) / the 31-40 illness norm
    assert row["claims_90d"] == 0 and row["document_reuse"] == 0
    assert row["report_lag_days"] == 2
    assert row["buyer_return_rate"] == 0.25 and row["buyer_covered_orders"] == 8
    assert (row["accident"], row["social_insurance"], row["age"]) == (0.0, 1.0, 35.0)


def test_history_counts_earlier_claims_in_90_days_and_reused_documents() -> None:
    book = ClaimBook()
    book.add(view(reported_date=D(2025, 10, 1), document_hashes=("old",)))  # 129 days before: outside 90
    book.add(view(reported_date=D(2026, 1, 20), document_hashes=("a",)))
    book.add(view(customer_id="c2", reported_date=D(2026, 1, 25), document_hashes=("a", "b")))
    row = book.features(view(event_date=D(2026, 3, 20), reported_date=D(2026, 3, 20), kind="accident"))
    assert row["claims_90d"] == 1  # c1's claim of 20 Jan; c2's is another customer's
    assert row["document_reuse"] == 3  # "a" seen twice, "b" once
    assert row["just_after_waiting"] == 0.0  # an accident; and 78 days after the start besides
    assert row["amount_vs_norm"] == pytest.approx(3_000_00 / norm(35, "accident"))
    assert norm(35, "accident") == 2_800_00 and norm(70, "illness") == 3_800_00


def test_threshold_and_evaluation_by_hand() -> None:
    labels, scores = [0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.8, 0.9]
    # from 0.8: 2 flagged, both fraud, F1 = 4/5; from 0.3: 4 flagged, 3 fraud, F1 = 6/7 — the best
    assert best_f1_threshold(labels, scores) == 0.3
    judged = evaluate(labels, scores, 0.3)
    assert (judged.flagged, judged.caught, judged.precision, judged.recall) == (4, 3, 0.75, 1.0)
    assert judged.auc == pytest.approx(8 / 9)  # 8 of the 9 (fraud, genuine) pairs ordered right


def test_a_model_learns_a_planted_signal_and_refuses_too_few_frauds() -> None:
    import random

    rng = random.Random(3)
    rows, labels = [], []
    for k in range(120):
        fraud = k % 6 == 0
        row = ClaimBook().features(view(billed=(rng.randrange(20, 40) if fraud else rng.randrange(3, 12)) * 1_000_00))
        rows.append(row)
        labels.append(int(fraud))
    model = fit(rows, labels, "logistic")
    scores = model.scores(rows)
    assert evaluate(labels, scores, model.threshold).auc == 1.0
    with pytest.raises(MalformedData, match="three fraudulent"):
        fit(rows[:12], [1, 1] + [0] * 10, "logistic")
