"""The claims-fraud model as the server runs it, on SQLite and PostgreSQL: saved and loaded, installed
from PUHUI_CLAIMS_FRAUD_MODEL, its features read from the database as of each claim's report, and a claim
whose invoice was already used on an earlier claim held for review while a fresh one is paid."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.risk.claims_fraud.features import FEATURES
from puhui.risk.claims_fraud.model import ClaimsFraudModel, fit
from puhui.risk.errors import MalformedData
from puhui.settings import Settings
from tests.identity.helpers import ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1
from tests.insurance.test_claims_http import claim, insured
from tests.insurance.test_insurance_http import assert_audit_clean


def reuse_model() -> ClaimsFraudModel:
    """A model taught on a book where reused documents mean fraud, whatever else the claim looks like."""
    rng = random.Random(3)
    rows, labels = [], []
    spread = {"days_since_start": 365, "amount_vs_norm": 10, "age": 70, "report_lag_days": 10, "claims_90d": 3}
    for n in range(200):
        row = {name: rng.uniform(0, spread.get(name, 1)) for name in FEATURES}
        fraud = n % 4 == 0
        row["document_reuse"] = float(rng.randint(1, 3)) if fraud else 0.0
        rows.append(row)
        labels.append(int(fraud))
    return fit(rows, labels, kind="logistic")


def test_a_saved_model_loads_with_its_threshold_and_scores(tmp_path):
    model = reuse_model()
    path = tmp_path / "claims-fraud.joblib"
    model.save(path)
    again = ClaimsFraudModel.load(path)
    row = {name: 1.0 for name in FEATURES}
    assert again.review_from == model.review_from and again.score(row) == model.score(row)
    bad = tmp_path / "not-a-model.joblib"
    bad.write_bytes(b"nothing here")
    with pytest.raises(MalformedData):
        ClaimsFraudModel.load(bad)


@pytest.fixture
def served(engine, clock, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "claims-fraud.joblib"
    reuse_model().save(path)
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
        claims_fraud_model=str(path),
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def test_the_server_scores_claims_from_the_database_and_holds_a_reused_invoice(served, engine, clock):
    _, _, me, policy = insured(served, engine, clock)
    first = claim(served, me, "claim-1", policy["id"]).json()
    assert first["status"] == "paid" and first["fraud_score"] is not None, first
    # the same invoice again, for another bill (another day: the same day's is the same event, refused as a
    # duplicate before any model): the model sees the document reused and holds the claim
    second = claim(served, me, "claim-2", policy["id"], billed="24000.00", event_date="2026-01-11").json()
    assert second["status"] == "review" and "fraud_score" in second["reasons"], second
    assert float(second["fraud_score"]) > float(first["fraud_score"])
    assert_audit_clean(engine)
