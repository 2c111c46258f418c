"""How well the fraud engine stops what the simulation planted: precision and recall per attempt.

The fraud engine never reads the labels. Its decisions are logged per payment attempt in
`risk_decisions` (approve, review or decline, with the payment id); a decline is logged even
though the payment was never made. The unit is the attempt: the truth is every payment id labelled
`account_takeover`; the prediction every decision of the run that was not an approval. Recall
counts the labelled attempts reviewed or declined; precision the flagged attempts that were fraud.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from puhui.risk import queries as risk_queries
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
