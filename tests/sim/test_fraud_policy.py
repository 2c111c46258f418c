"""The simulation with the fraud cost policy installed: the engine allows, challenges, holds or declines;
the simulated people answer challenges through the payments' own answer path (the owner with the
texted code, an account taker with wrong guesses unless they hold the phone); money moves only for a
passed challenge; the report's table counts each action per side, checked against the database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.ledger.audit import audit
from puhui.payments import reserve
from puhui.payments.challenge_tables import payment_challenges
from puhui.payments.tables import payments
from puhui.risk.fraud import store
from puhui.risk.fraud.calibration import calibration_from
from puhui.risk.fraud.decision import default_costs
from puhui.risk.fraud.hook import Policy
from puhui.risk.fraud.tables import risk_decisions
from puhui.sim import agents
from puhui.sim.fraud_detection import ActionTable, action_table
from puhui.sim.tables import sim_labels
from puhui.sim.world import Config, run_span, simulate
from tests.sim import migrated_copy

RUN = Config(customers=60, days=8, seed=2)
# a takeover score of 500 or more is fraud one time in two, anything below one time in 10,000
POLICY = Policy(
    calibration_from([{"from_score": 0, "probability": "0.0001"}, {"from_score": 2000, "probability": "0.5"}]),
    default_costs(),
)


@pytest.fixture(scope="module")
def run(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    target = tmp_path_factory.mktemp("fraud-policy") / "sim.db"
    engine = migrated_copy(sqlite_template, target)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PUHUI_FRAUD_CHECKS", "true")
        result = simulate(engine, RUN, policy=POLICY)
    yield engine, result
    engine.dispose()


def test_challenges_are_answered_and_money_moves_only_when_passed(run) -> None:  # type: ignore[no-untyped-def]
    engine, result = run
    with reading(engine) as connection:
        assert audit(connection).ok and reserve.reserve_coverage(connection).covered
        assert store.current_rule(connection, "takeover_score").enabled
        rows = connection.execute(select(payment_challenges)).mappings().all()
        made = set(connection.execute(select(payments.c.id)).scalars())
        fraud = set(
            connection.execute(
                select(sim_labels.c.payment_id).where(sim_labels.c.typology == "account_takeover")
            ).scalars()
        )
    status = {r["id"]: r["status"] for r in rows}
    assert rows and set(status) == set(result.challenged)
    by_answer = {"passed": "passed", "failed": "failed", "abandoned": "expired"}
    assert all(status[ref] == by_answer[answer] for ref, answer in result.challenged.items())
    assert {ref for ref, s in status.items() if s == "passed"} <= made  # a passed challenge made the payment
    assert not {ref for ref, s in status.items() if s != "passed"} & made  # nothing else did
    assert {r["id"]: r["payment_id"] for r in rows if r["status"] == "passed"} == {
        ref: ref for ref, s in status.items() if s == "passed"
    }
    honest = Counter(a for ref, a in result.challenged.items() if ref not in fraud)
    stolen = Counter(a for ref, a in result.challenged.items() if ref in fraud)
    assert stolen["failed"] > 0 and stolen["abandoned"] == 0  # account takers fail; they never give up
    assert honest["failed"] == 0 and honest["passed"] >= honest["abandoned"]  # the owner has the code


def test_the_action_table_matches_the_decision_log(run) -> None:  # type: ignore[no-untyped-def]
    engine, result = run
    with reading(engine) as connection:
        table = action_table(connection, result.run_id, run_span(result), result.challenged)
        named = connection.execute(
            select(risk_decisions.c.payment_ref, risk_decisions.c.outcome).where(
                risk_decisions.c.payment_ref.is_not(None)
            )
        ).all()
    latest = dict(named)
    assert table.total("honest") + table.total("fraud") == len(latest)
    challenged = sum(c[s] for r, c in table.counts.items() if r.startswith("challenge") for s in ("honest", "fraud"))
    assert challenged == Counter(latest.values())["challenge"] == len(result.challenged)
    assert table.total("fraud") == sum(1 for label in result.labels if label.typology == "account_takeover")
    stopped = (
        table.counts["decline"]["fraud"] + table.counts["hold"]["fraud"] + table.counts["challenge_failed"]["fraud"]
    )
    assert stopped > 0 and table.ato_recall == stopped / table.total("fraud")


def test_the_rates_and_precision_by_hand() -> None:
    table = ActionTable(
        {
            "allow": {"honest": 9_900, "fraud": 1},
            "challenge_passed": {"honest": 60, "fraud": 1},
            "challenge_failed": {"honest": 0, "fraud": 12},
            "challenge_abandoned": {"honest": 2, "fraud": 0},
            "hold": {"honest": 8, "fraud": 3},
            "decline": {"honest": 10, "fraud": 3},
        }
    )
    assert table.honest_held_or_declined == 18 / 9_980
    assert table.honest_challenged == 62 / 9_980
    assert table.ato_recall == 18 / 20
    assert table.precision == 18 / (18 + 20)  # stopped: failed, abandoned, held, declined


def test_the_people_answer_shares_are_data() -> None:
    assert 0 < agents.STEP_UP["honest_abandons"] < 0.1 and 0 < agents.STEP_UP["fraud_holds_factor"] < 0.2


def test_an_action_table_from_stored_decisions_and_labels(engine) -> None:  # type: ignore[no-untyped-def]
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
        for k, ref in enumerate(("f1", "f2", "f3", "f4"))
    ]
    decisions = [("f1", "challenge"), ("f2", "decline"), ("f3", "approve"), ("f4", "challenge")]
    decisions += [("h1", "challenge"), ("h2", "approve"), ("h3", "review"), ("h2", "approve"), ("h4", "challenge")]

    def work(uow):  # type: ignore[no-untyped-def]
        uow.execute(sim_labels.insert(), labels)
        rows = [
            {
                "payment_ref": ref,
                "payer_id": "c1",
                "payee_id": "m",
                "amount": 1,
                "outcome": outcome,
                "score": None,
                "reasons": "[]",
                "rule_versions": "{}",
                "at": 10 + k,
            }
            for k, (ref, outcome) in enumerate(decisions)
        ]
        uow.execute(risk_decisions.insert(), rows)

    transaction(engine, work)
    answers = {"f1": "failed", "f4": "passed", "h1": "passed", "h4": "abandoned"}
    with reading(engine) as connection:
        table = action_table(connection, "r1", (10, 100), answers)
    assert table.counts == {
        "allow": {"honest": 1, "fraud": 1},
        "challenge_passed": {"honest": 1, "fraud": 1},
        "challenge_failed": {"honest": 0, "fraud": 1},
        "challenge_abandoned": {"honest": 1, "fraud": 0},
        "hold": {"honest": 1, "fraud": 0},
        "decline": {"honest": 0, "fraud": 1},
    }
    assert table.ato_recall == 2 / 4 and table.honest_challenged == 2 / 4 and table.precision == 2 / 4
