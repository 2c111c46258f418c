"""Account takeover through the real fraud engine: every fraudulent attempt is labelled, most are
held or declined, none of the victim's money reaches a mule when held; the per-attempt precision and
recall come from the engine's decision log; with the checks off the engine decides nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.ledger.audit import audit
from puhui.payments import reserve
from puhui.payments.tables import payment_reviews, payments
from puhui.risk.fraud.tables import risk_decisions
from puhui.sim.fraud_detection import evaluate_fraud
from puhui.sim.tables import sim_labels
from puhui.sim.world import Config, run_span, simulate
from tests.sim import migrated_copy

RUN = Config(customers=60, days=8, seed=2)


@pytest.fixture(scope="module")
def run(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    target = tmp_path_factory.mktemp("fraud") / "sim.db"
    engine = migrated_copy(sqlite_template, target)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PUHUI_FRAUD_CHECKS", "true")  # the platform's default; the suite turns it off
        result = simulate(engine, RUN)
    yield engine, result
    engine.dispose()


def test_takeover_attempts_are_labelled_and_mostly_stopped(run) -> None:  # type: ignore[no-untyped-def]
    engine, result = run
    with reading(engine) as connection:
        assert audit(connection).ok and reserve.reserve_coverage(connection).covered
        labelled = (
            connection.execute(select(sim_labels).where(sim_labels.c.typology == "account_takeover")).mappings().all()
        )
        found = evaluate_fraud(connection, result.run_id, run_span(result))
        refs = [r["payment_id"] for r in labelled]
        decided = connection.execute(
            select(risk_decisions.c.payment_ref, risk_decisions.c.outcome).where(risk_decisions.c.payment_ref.in_(refs))
        ).all()
        made = set(connection.execute(select(payments.c.id).where(payments.c.id.in_(refs))).scalars())
        rejected = set(
            connection.execute(
                select(payment_reviews.c.id).where(
                    payment_reviews.c.id.in_(refs), payment_reviews.c.status == "rejected"
                )
            ).scalars()
        )
    assert labelled and {r["role"] for r in labelled} == {"fraudster"}
    assert len(set(refs)) == len(refs) == found.attempts
    assert {ref for ref, _ in decided} == set(refs)  # the engine decided every attempt
    stopped = {ref for ref, outcome in decided if outcome != "approve"}
    assert found.caught == len(stopped) >= found.attempts / 2, found.as_json()
    assert rejected == {ref for ref, outcome in decided if outcome == "review"}  # the holder disowned them
    assert not made & stopped  # a held or declined attempt never became a payment
    assert found.recall == found.caught / found.attempts and found.precision == found.caught / found.flagged
    assert result.held["disowned"] == len(rejected)


def test_the_checks_off_decide_nothing_and_plant_the_same_attempts(sqlite_template: Path, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    engine = migrated_copy(sqlite_template, tmp_path / "off.db")
    try:
        result = simulate(engine, Config(customers=40, days=5, seed=2))  # PUHUI_FRAUD_CHECKS=false in tests
        with reading(engine) as connection:
            assert connection.execute(select(func.count()).select_from(risk_decisions)).scalar_one() == 0
            found = evaluate_fraud(connection, result.run_id, run_span(result))
    finally:
        engine.dispose()
    assert found.flagged == found.caught == 0 and found.recall in (0.0, None)


def test_precision_and_recall_per_attempt_from_the_decision_log(engine) -> None:  # type: ignore[no-untyped-def]
    labels = [
        {
            "id": f"r1:{k}",
            "run_id": "r1",
            "agent": k,
            "customer_id": "c1",
            "typology": "account_takeover",
            "role": "fraudster",
            "payment_id": ref,
            "created_at": 0,
        }
        for k, ref in enumerate(("p1", "p2", "p3"))
    ]
    decisions = [
        ("p1", "decline", 10),
        ("p2", "review", 11),
        ("p3", "approve", 12),
        ("p4", "review", 13),
        ("p5", "approve", 14),
        ("p4", "review", 15),
        ("p9", "decline", 99),
    ]  # p4 twice; p9 after the span

    def work(uow):  # type: ignore[no-untyped-def]
        uow.execute(sim_labels.insert(), labels)
        uow.execute(
            risk_decisions.insert(),
            [
                {
                    "payment_ref": ref,
                    "payer_id": "c1",
                    "payee_id": "m",
                    "amount": 1,
                    "outcome": o,
                    "score": None,
                    "reasons": "[]",
                    "rule_versions": "{}",
                    "at": at,
                }
                for ref, o, at in decisions
            ],
        )

    transaction(engine, work)
    with reading(engine) as connection:
        found = evaluate_fraud(connection, "r1", (10, 20))
    assert (found.attempts, found.decided, found.flagged, found.caught) == (3, 5, 3, 2)
    assert found.outcomes == {"approve": 1, "decline": 1, "review": 1}
    assert found.precision == 2 / 3 and found.recall == 2 / 3
