"""The insurance simulation through the real services: the return-shipping loss ratio after pricing
lands in its band, the ledger audit passes, the planted frauds are labelled in `sim_labels`, and the
claims-fraud model trained on one seed's book scores another seed's claims online (its threshold
sending claims to review) with an AUC computed against that book's ground truth."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.sim.insurance import Config, simulate_insurance
from puhui.sim.insurance_measure import held_out, summary, train
from puhui.sim.tables import sim_labels
from tests.sim import migrated_copy

TRAIN = Config(customers=200, days=45, seed=11, fraud_share=0.06)
TEST = Config(customers=200, days=45, seed=12, fraud_share=0.06)


@pytest.fixture(scope="module")
def books(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("insurance-sim")
    engines = [migrated_copy(sqlite_template, folder / f"{name}.db") for name in ("train", "test")]
    book = simulate_insurance(engines[0], TRAIN)
    model = train(book, "logistic")
    result = simulate_insurance(engines[1], TEST, model)
    yield engines[1], book, model, result
    for engine in engines:
        engine.dispose()


def test_return_shipping_loss_ratio_is_in_band_and_the_audit_passes(books) -> None:  # type: ignore[no-untyped-def]
    engine, book, _, result = books
    for run in (book, result):
        assert run.audit_ok and run.done["return_claim"] > 20 and run.done["medical_policy"] > 100
    # the product's book over both seeds (one seed of 200 customers alone is a few dozen returns)
    pooled = Decimal(book.return_claims_paid + result.return_claims_paid) / (
        book.return_premiums + result.return_premiums
    )
    assert Decimal("0.6") <= pooled <= Decimal("0.8"), pooled
    with reading(engine) as connection:
        assert audit(connection).ok


def test_labels_are_stored_for_the_planted_frauds(books) -> None:  # type: ignore[no-untyped-def]
    engine, _, _, result = books
    with reading(engine) as connection:
        rows = connection.execute(select(sim_labels).where(sim_labels.c.run_id == result.run_id)).mappings().all()
    assert len(rows) == len(result.labels) > 0
    fraud_claims = {c.claim_id for c in result.claims if c.fraud}
    assert fraud_claims and fraud_claims <= {r["payment_id"] for r in rows}
    assert {r["typology"] for r in rows} >= {"ins_after_waiting"}


def test_the_model_beats_chance_on_a_held_out_seed_and_feeds_review(books) -> None:  # type: ignore[no-untyped-def]
    _, book, model, result = books
    judged = held_out(result, model)
    assert judged.fraudulent >= 3 and judged.auc is not None
    assert judged.auc > 0.65, judged.auc
    assert all(c.score is not None for c in result.claims)  # every claim was scored online
    flagged = [c for c in result.claims if c.score is not None and c.score >= model.review_from]
    # a claim at or above the threshold went to review, unless the rules declined it outright first
    assert all(c.decided in ("review", "declined") for c in flagged)
    assert any(line.startswith("claims-fraud model on the held-out book: AUC") for line in summary(book, result, model))
