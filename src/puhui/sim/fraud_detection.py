"""How well the fraud engine stops what the simulation planted: precision and recall per attempt.

The fraud engine never reads the labels. Its decisions are logged per payment attempt in
`risk_decisions` (approve, review or decline, with the payment id); a decline is logged even
though the payment was never made. The unit is the attempt: the truth is every payment id labelled
`account_takeover`; the prediction every decision of the run that was not an approval. Recall
counts the labelled attempts reviewed or declined; precision the flagged attempts that were fraud.

With the cost policy the engine also challenges (核身): `action_table` counts each attempt's last action
per side of the truth, a challenge split by how the run's people ended it (passed, failed, abandoned),
and gives the honest hold-or-decline and challenge rates, the takeover recall and the precision.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from puhui.risk import queries as risk_queries
from puhui.sim.agents import STEP_UP
from puhui.sim.tables import sim_labels

TYPOLOGY = "account_takeover"


@dataclass(frozen=True)
class FraudDetection:
    typology: str
    attempts: int  # labelled fraudulent attempts
    decided: int  # attempts of every kind the engine decided in the run
    flagged: int  # decisions review or decline
    caught: int  # labelled attempts flagged
    outcomes: dict[str, int] = field(default_factory=dict)  # labelled attempts by the engine's outcome

    @property
    def precision(self) -> float | None:
        return self.caught / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.attempts if self.attempts else None

    def as_json(self) -> dict:
        return {
            "typology": self.typology,
            "attempts": self.attempts,
            "decided": self.decided,
            "flagged": self.flagged,
            "caught": self.caught,
            "outcomes": dict(self.outcomes),
            "precision": None if self.precision is None else round(self.precision, 4),
            "recall": None if self.recall is None else round(self.recall, 4),
        }


def evaluate_fraud(connection: Connection, run_id: str, span: tuple[int, int]) -> FraudDetection:
    """The engine's decisions made within the run's span (UTC micros) against the run's fraud labels."""
    truth = set(
        connection.execute(
            select(sim_labels.c.payment_id).where(
                sim_labels.c.run_id == run_id, sim_labels.c.typology == TYPOLOGY, sim_labels.c.payment_id.is_not(None)
            )
        ).scalars()
    )
    latest: dict[str, str] = {}  # one decision per attempt: a retried payment id counts once, as last decided
    unnamed = Counter[str]()
    for ref, outcome in risk_queries.fraud_decisions_between(connection, *span):
        if ref is None:
            unnamed[outcome] += 1
        else:
            latest[ref] = outcome
    flagged = {ref for ref, outcome in latest.items() if outcome != "approve"}
    outcomes = Counter(latest.get(ref, "none") for ref in truth)
    n_flagged = len(flagged) + sum(n for o, n in unnamed.items() if o != "approve")
    return FraudDetection(
        TYPOLOGY,
        len(truth),
        len(latest) + sum(unnamed.values()),
        n_flagged,
        len(truth & flagged),
        dict(sorted(outcomes.items())),
    )


# What the simulated people do when asked to step up (核身), as `agents.STEP_UP` says: an account taker
# passes only holding the victim's phone, an honest payer passes unless they give up.
CHALLENGE_PASS_SHARE = {"fraud": STEP_UP["fraud_holds_factor"], "honest": 1 - STEP_UP["honest_abandons"]}

ROWS = ("allow", "challenge_passed", "challenge_failed", "challenge_abandoned", "hold", "decline")
STOPPED = ("challenge_failed", "challenge_abandoned", "hold", "decline")  # the payment did not go through as asked
OUTCOME_ROW = {"approve": "allow", "review": "hold", "decline": "decline"}


@dataclass(frozen=True)
class ActionTable:
    """The fraud engine's actions in a run, per attempt, honest and fraudulent: `counts[row][side]`
    with a challenge split by how it ended (passed, failed, abandoned by an honest owner)."""

    counts: dict[str, dict[str, int]]

    def total(self, side: str) -> int:
        return sum(c[side] for c in self.counts.values())

    def rate(self, side: str, *rows: str) -> float | None:
        n = self.total(side)
        return sum(self.counts[r][side] for r in rows) / n if n else None

    @property
    def honest_held_or_declined(self) -> float | None:
        return self.rate("honest", "hold", "decline")

    @property
    def honest_challenged(self) -> float | None:
        return self.rate("honest", "challenge_passed", "challenge_failed", "challenge_abandoned")

    @property
    def ato_recall(self) -> float | None:
        """Takeover attempts stopped: declined, held (the owner disowns it) or a challenge failed."""
        return self.rate("fraud", "decline", "hold", "challenge_failed")

    @property
    def precision(self) -> float | None:
        """Of the attempts stopped or held (declined, held, challenge failed or abandoned), the takeovers."""
        stopped = sum(self.counts[r][side] for r in STOPPED for side in ("honest", "fraud"))
        return sum(self.counts[r]["fraud"] for r in STOPPED) / stopped if stopped else None

    def as_json(self) -> dict:
        return {
            "counts": self.counts,
            "honest_held_or_declined": self.honest_held_or_declined,
            "honest_challenged": self.honest_challenged,
            "ato_recall": self.ato_recall,
            "precision": self.precision,
        }


def action_table(connection: Connection, run_id: str, span: tuple[int, int], challenged: dict[str, str]) -> ActionTable:
    """Each named attempt's last decision in the run against its label; a challenge ends as the run's
    people answered it (`challenged`: payment id -> passed / failed / abandoned)."""
    truth = _truth(connection, run_id)
    latest: dict[str, str] = {}
    for ref, outcome in risk_queries.fraud_decisions_between(connection, *span):
        if ref is not None:
            latest[ref] = outcome
    counts = {row: {"honest": 0, "fraud": 0} for row in ROWS}
    for ref, outcome in latest.items():
        row = f"challenge_{challenged.get(ref, 'abandoned')}" if outcome == "challenge" else OUTCOME_ROW[outcome]
        counts[row]["fraud" if ref in truth else "honest"] += 1
    return ActionTable(counts)


def _truth(connection: Connection, run_id: str) -> set[str]:
    return set(
        connection.execute(
            select(sim_labels.c.payment_id).where(
                sim_labels.c.run_id == run_id, sim_labels.c.typology == TYPOLOGY, sim_labels.c.payment_id.is_not(None)
            )
        ).scalars()
    )


@dataclass(frozen=True)
class ActionReplay:
    """The cost model's actions over a run's attempts, honest and fraudulent, with the challenges'
    simulated answers: `counts[action][side]`, plus the challenges each side failed."""

    counts: dict[str, dict[str, int]]
    failed: dict[str, int]

    def total(self, side: str) -> int:
        return sum(c[side] for c in self.counts.values())

    def rate(self, side: str, *actions: str) -> float | None:
        n = self.total(side)
        return sum(self.counts[a][side] for a in actions) / n if n else None

    @property
    def ato_recall(self) -> float | None:
        """Fraud stopped: declined, held (the holder disowns it) or a challenge failed."""
        n = self.total("fraud")
        stopped = self.counts["decline"]["fraud"] + self.counts["hold"]["fraud"] + self.failed["fraud"]
        return stopped / n if n else None

    def as_json(self) -> dict:
        return {
            "counts": self.counts,
            "challenges_failed": self.failed,
            "honest_held_or_declined": self.rate("honest", "hold", "decline"),
            "honest_challenged": self.rate("honest", "challenge"),
            "ato_recall": self.ato_recall,
        }


def labelled_attempts(connection: Connection, run_id: str, span: tuple[int, int]) -> list[tuple[dict, bool]]:
    """Each named attempt's last decision with its evidence, and whether it was an account takeover."""
    from puhui.risk.fraud import store

    truth = set(
        connection.execute(
            select(sim_labels.c.payment_id).where(
                sim_labels.c.run_id == run_id, sim_labels.c.typology == TYPOLOGY, sim_labels.c.payment_id.is_not(None)
            )
        ).scalars()
    )
    latest = {row["payment_ref"]: row for row in store.decisions_between(connection, *span) if row["payment_ref"]}
    return [(row, ref in truth) for ref, row in latest.items()]


def fit(attempts: list[tuple[dict, bool]], prior: int = 20):
    """The calibration of the engine's evidence (`decision.risk_index`) on labelled attempts."""
    from puhui.risk.fraud.calibration import calibrate
    from puhui.risk.fraud.decision import risk_index

    return calibrate(((risk_index(row["score"], row["reasons"]), fraud) for row, fraud in attempts), prior)


def replay_costs(attempts: list[tuple[dict, bool]], calibration, costs, seed: int = 1) -> ActionReplay:
    """What the cost model would have done with each attempt, its evidence as the engine saw it."""
    import random

    from puhui.risk.fraud.decision import ORDER, choose, floor_of, risk_index

    rng = random.Random(f"{seed}:challenges")
    counts = {a.value: {"honest": 0, "fraud": 0} for a in ORDER}
    failed = {"honest": 0, "fraud": 0}
    for row, fraud in attempts:
        side = "fraud" if fraud else "honest"
        p = calibration.probability(risk_index(row["score"], row["reasons"]))
        action = choose(p, row["amount"], costs, floor_of(row["reasons"])).action
        counts[action.value][side] += 1
        if action.value == "challenge" and rng.random() >= CHALLENGE_PASS_SHARE[side]:
            failed[side] += 1
    return ActionReplay(counts, failed)
