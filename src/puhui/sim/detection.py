"""How well the monitor finds what the simulation planted: precision and recall per typology.

The monitor never reads the labels; this module joins its alerts with them after the fact. The
unit is the customer: for a typology, the truth is every principal labelled with it, the
prediction every party with an alert of the matching rule typology. Recall counts the principals
found; precision counts the flagged parties that took part in that typology (its principals and,
where the rule flags every member as the graph rules do, its accomplices). A principal found by
another rule's alert does not count for this typology.

The benign-flag rate is over the customers who took part in no laundering scheme (the honest
look-alikes among them): the share an alert of the typology flagged, and the share any alert did.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from puhui.payments import purposes
from puhui.regtech import queries as regtech_queries
from puhui.sim.tables import sim_labels

# simulation typology → the monitor's rule typology
MATCHING = {
    "structuring": "structuring",
    "rapid_in_out": "rapid_in_out",
    "fan_in": "fan_in",
    "fan_out": "fan_out",
    "round_amounts": "round_amount",
    "night_burst": "night_burst",
    "dormant": "dormant",
    "self_financing": "self_financing",
    "fund_pool": "fund_pool",
    "cycle": "cycle",
    "gather_scatter": "gather_scatter",
    "device_farm": "shared_device",
    "mule_chain": "mule_chain",
    "loan_layering": "loan_layering",
}


@dataclass(frozen=True)
class Detection:
    typology: str
    planted: int  # principals labelled with it
    flagged: int  # parties with an alert of the matching rule
    caught: int  # planted ∩ flagged
    involved: int = 0  # flagged parties that took part in it (principal or accomplice)
    launderers: int = 0  # flagged parties that took part in any planted scheme: the rest are innocent
    benign: int = 0  # customers in no scheme: the denominator of the benign-flag rate
    benign_flagged: int = 0  # of them, those an alert of the matching rule flagged

    @property
    def benign_rate(self) -> float | None:
        return self.benign_flagged / self.benign if self.benign else None

    @property
    def precision_any(self) -> float | None:
        """Of the flagged, the share that are launderers of some typology (not innocent customers)."""
        return self.launderers / self.flagged if self.flagged else None

    @property
    def precision(self) -> float | None:
        return self.involved / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.planted if self.planted else None

    def as_json(self) -> dict:
        return {
            "typology": self.typology,
            "planted": self.planted,
            "flagged": self.flagged,
            "caught": self.caught,
            "involved": self.involved,
            "launderers": self.launderers,
            "precision": None if self.precision is None else round(self.precision, 4),
            "precision_any": None if self.precision_any is None else round(self.precision_any, 4),
            "recall": None if self.recall is None else round(self.recall, 4),
            "benign_flagged": self.benign_flagged,
            "benign_rate": None if self.benign_rate is None else round(self.benign_rate, 5),
        }


@dataclass(frozen=True)
class BenignFlags:
    """Honest customers flagged by any laundering alert: overall and per look-alike kind (flagged, of how many)."""

    customers: int
    flagged: int
    lookalikes: dict[str, tuple[int, int]]

    @property
    def rate(self) -> float | None:
        return self.flagged / self.customers if self.customers else None


def evaluate(connection: Connection, run_id: str, customers: int = 0) -> list[Detection]:
    """Per typology, the monitor's alerts against the run's ground truth (`customers`: how many the
    run registered, for the benign-flag rate)."""
    principals: dict[str, set[str]] = {t: set() for t in MATCHING}
    members: dict[str, set[str]] = {t: set() for t in MATCHING}
    for customer, typology, role in connection.execute(
        select(sim_labels.c.customer_id, sim_labels.c.typology, sim_labels.c.role).where(sim_labels.c.run_id == run_id)
    ):
        members.setdefault(typology, set()).add(customer)
        if role == "principal":
            principals.setdefault(typology, set()).add(customer)
    flagged: dict[str, set[str]] = {}
    for party, typology in regtech_queries.alerted_parties(connection):
        flagged.setdefault(typology, set()).add(party)
    found = []
    anyone = set().union(*(members[t] for t in MATCHING))  # laundering schemes only, not fraud victims
    benign = max(0, customers - len({p for p in anyone if p.startswith("cus_")}))
    for t in MATCHING:
        hits = flagged.get(MATCHING[t], set())
        found.append(
            Detection(
                t,
                len(principals[t]),
                len(hits),
                len(principals[t] & hits),
                len(members[t] & hits),
                len(anyone & hits),
                benign,
                len({p for p in hits if p.startswith("cus_")} - anyone),
            )
        )
    return found


def benign_flags(connection: Connection, run_id: str, customers: int) -> BenignFlags:
    """How many customers in no scheme any laundering alert flagged, and how many of each look-alike kind."""
    members: dict[str, set[str]] = {}
    for customer, typology in connection.execute(
        select(sim_labels.c.customer_id, sim_labels.c.typology).where(sim_labels.c.run_id == run_id)
    ):
        members.setdefault(typology, set()).add(customer)
    anyone = set().union(*(members.get(t, set()) for t in MATCHING))
    rules = set(MATCHING.values())
    flagged = {p for p, typology in regtech_queries.alerted_parties(connection) if typology in rules}
    honest = {p for p in flagged if p.startswith("cus_") and p not in anyone}
    looks = {
        t.removeprefix("lookalike_"): (len((who - anyone) & flagged), len(who - anyone))
        for t, who in sorted(members.items())
        if t.startswith("lookalike_")
    }
    return BenignFlags(max(0, customers - len({p for p in anyone if p.startswith("cus_")})), len(honest), looks)


def declared_purposes(connection: Connection, run_id: str) -> dict[str, tuple[int, int]]:
    """Per group (honest look-alikes, launderers), how many of its labelled P2P transfers declared a
    purpose (用途), of how many."""
    groups: dict[str, set[str]] = {"look-alikes": set(), "launderers": set()}
    for typology, payment in connection.execute(
        select(sim_labels.c.typology, sim_labels.c.payment_id).where(sim_labels.c.run_id == run_id)
    ):
        if payment and payment.startswith("p2p_"):
            if typology.startswith("lookalike_"):
                groups["look-alikes"].add(payment)
            elif typology in MATCHING:
                groups["launderers"].add(payment)
    return {group: (len(purposes.declared_of(connection, sorted(ids))), len(ids)) for group, ids in groups.items()}
