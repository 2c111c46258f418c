"""How well the monitor finds what the simulation planted: precision and recall per typology.

The monitor never reads the labels; this module joins its alerts with them after the fact. The
unit is the customer: for a typology, the truth is every principal labelled with it, the
prediction every party with an alert of the matching rule typology. A principal found by another
rule's alert does not count for this typology.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from puhui.regtech.tables import monitor_alerts
from puhui.sim.tables import sim_labels

# simulation typology → the monitor's rule typology
MATCHING = {"structuring": "structuring", "rapid_in_out": "rapid_in_out", "fan_in": "fan_in", "fan_out": "fan_out",
            "round_amounts": "round_amount", "night_burst": "night_burst"}


@dataclass(frozen=True)
class Detection:
    typology: str
    planted: int  # principals labelled with it
    flagged: int  # parties with an alert of the matching rule
    caught: int  # planted ∩ flagged

    @property
    def precision(self) -> float | None:
        return self.caught / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.planted if self.planted else None

    def as_json(self) -> dict:
        return {"typology": self.typology, "planted": self.planted, "flagged": self.flagged, "caught": self.caught,
                "precision": None if self.precision is None else round(self.precision, 4),
                "recall": None if self.recall is None else round(self.recall, 4)}


def evaluate(connection: Connection, run_id: str) -> list[Detection]:
    """Per typology, the monitor's alerts against the run's ground truth."""
    truth: dict[str, set[str]] = {t: set() for t in MATCHING}
    for customer, typology in connection.execute(select(sim_labels.c.customer_id, sim_labels.c.typology).where(
            sim_labels.c.run_id == run_id, sim_labels.c.role == "principal")):
        truth.setdefault(typology, set()).add(customer)
    flagged: dict[str, set[str]] = {}
    for party, typology in connection.execute(select(monitor_alerts.c.party, monitor_alerts.c.typology)):
        flagged.setdefault(typology, set()).add(party)
    return [Detection(t, len(truth[t]), len(flagged.get(MATCHING[t], set())),
                      len(truth[t] & flagged.get(MATCHING[t], set()))) for t in MATCHING]
