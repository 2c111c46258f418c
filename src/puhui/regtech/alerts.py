"""Alerts (预警): a rule tripped on a party's flows; carries the evidence, the window and the rule version.

An alert's id is derived from the rule, the party and the evidence, so re-reading the same events
can only produce the same ids: a replay inserts nothing new.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.money import format_minor
from puhui.regtech.errors import AlertNotFound
from puhui.regtech.tables import monitor_alerts
from puhui.regtech.windows import Flow


@dataclass(frozen=True)
class Alert:
    id: str
    rule_code: str
    rule_version: int
    typology: str
    party: str
    key: str
    window_start: int
    window_end: int
    flows: tuple[Flow, ...]
    position: int
    event_at: int
    accounts: tuple[str, ...] = ()  # every account a network alert names (a chain's, in order)

    @property
    def amount(self) -> int:
        return sum(f.amount for f in self.flows)

    @property
    def score(self) -> int:
        """0-100: the typology's weight, more for more money and for more accounts involved (排序), moved
        by the declared purposes' context (`purpose_context`)."""
        weight = TYPOLOGY_WEIGHTS.get(self.typology, 50)
        size = min(20, max(0, len(str(max(self.amount, 1) // 100)) - 2) * 4)  # +4 per digit above 100 CNY
        shift = purpose_context(self.typology, self.flows)[0]
        return max(0, min(100, weight + size + min(15, 3 * max(0, len(self.accounts) - 2)) + shift))

    def row(self, raised_at: int) -> dict:
        evidence: dict = {"key": self.key, "score": self.score, "flows": [f.evidence() for f in self.flows]}
        if self.accounts:
            evidence["accounts"] = list(self.accounts)  # only a network alert names more than its party
        context = purpose_context(self.typology, self.flows)[1]
        if context:
            evidence["context"] = context
        return {
            "id": self.id,
            "rule_code": self.rule_code,
            "rule_version": self.rule_version,
            "typology": self.typology,
            "party": self.party,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "amount": self.amount,
            "evidence": json.dumps(evidence, separators=(",", ":")),
            "position": self.position,
            "event_at": self.event_at,
            "raised_at": raised_at,
            "case_id": None,
        }


TYPOLOGY_WEIGHTS = {  # how likely an alert of the typology is laundering, as investigators rank them
    "mule_chain": 70,
    "fund_pool": 65,
    "self_financing": 60,
    "loan_layering": 60,
    "shared_device": 60,
    "cycle": 60,
    "gather_scatter": 55,
    "fan_in": 50,
    "fan_out": 50,
    "rapid_in_out": 45,
    "structuring": 45,
    "dormant": 40,
    "night_burst": 35,
    "round_amount": 30,
    "large_value": 20,
}
GROWING = frozenset({"mule_chain"})  # alerts whose evidence grows as more of the network shows


# Declared purposes (用途) that fit a pattern: gifts or group buying into one person around one date; payroll
# or group buying paid out to many. A purpose is context, never a pass: it moves the score, not the alert.
FITS = {"fan_in": frozenset({"gift", "group_buying"}), "fan_out": frozenset({"payroll", "group_buying"})}
DIRECTION = {"fan_in": "in", "fan_out": "out"}
FIT_PERCENT = 80  # of the pattern's payments by amount
AROUND_ONE_DATE = 2 * 86_400 * 1_000_000
PURPOSE_POINTS = 10


def purpose_context(typology: str, flows: tuple[Flow, ...]) -> tuple[int, list[str]]:
    """The score shift of the declared purposes of a fan-in or fan-out's payments, and why: lower when at
    least 80% of the money declares a purpose that fits the pattern within two days; higher when a
    person's fan-out declares payroll (工资) paid with other persons' money, or a fan-in is declared payroll
    (a person is nobody's employer); nothing otherwise (most payments declare nothing)."""
    direction = DIRECTION.get(typology)
    if direction is None:
        return 0, []
    legs = [f for f in flows if f.direction == direction and f.channel in ("transfer", "cash")]
    declared = [f for f in legs if f.purpose]
    if not declared:
        return 0, []
    total = sum(f.amount for f in legs) or 1
    payroll = sum(f.amount for f in declared if f.purpose == "payroll")
    if payroll * 2 >= total and (typology == "fan_in" or any(f.third_party_in for f in flows)):
        what = "paid in to a person" if typology == "fan_in" else "paid out with other persons' money"
        return PURPOSE_POINTS, [f"declared payroll (工资) {what}: the purpose does not fit"]
    fitting = [f for f in declared if f.purpose in FITS[typology]]
    percent = sum(f.amount for f in fitting) * 100 // total
    spread = max(f.at for f in fitting) - min(f.at for f in fitting) if fitting else 0
    if fitting and percent >= FIT_PERCENT and spread <= AROUND_ONE_DATE:
        kinds = "/".join(sorted({f.purpose or "" for f in fitting}))
        return -PURPOSE_POINTS, [f"{percent}% of the payments declared {kinds} within two days"]
    return 0, []


def alert_id(rule_code: str, party: str, key: str) -> str:
    digest = hashlib.sha256(f"{rule_code}\x1f{party}\x1f{key}".encode()).hexdigest()[:32]
    return f"alr_{digest}"


def insert_alerts(uow: UnitOfWork, alerts: list[Alert]) -> int:
    """Insert the alerts not already stored (a guard; the monitor's state already prevents repeats)."""
    if not alerts:
        return 0
    latest = {a.id: a for a in alerts}  # a growing alert raised twice in a batch: its last evidence
    ids = list(latest)
    seen = set(uow.execute(select(monitor_alerts.c.id).where(monitor_alerts.c.id.in_(ids))).scalars())
    now = clock.now_micros()
    rows = [a.row(now) for a in latest.values() if a.id not in seen]
    if rows:
        uow.execute(monitor_alerts.insert(), rows)
    for alert in latest.values():
        if alert.id in seen and alert.typology in GROWING:
            row = alert.row(now)
            uow.execute(
                monitor_alerts.update()
                .where(monitor_alerts.c.id == alert.id)
                .values({k: row[k] for k in ("window_end", "amount", "evidence", "position", "event_at")})
            )
    return len(rows)


def ranked(alerts: list[dict]) -> list[dict]:
    """Alerts as `alert_json` shows them, likeliest first: by score, then the larger amount."""
    return sorted(alerts, key=lambda a: (-a["score"], -int(a["amount"].replace(".", "")), a["id"]))


def alert_json(row) -> dict:
    evidence = json.loads(row["evidence"])
    score = evidence.setdefault("score", TYPOLOGY_WEIGHTS.get(row["typology"], 50))  # stored before scores
    evidence.setdefault("accounts", [])
    evidence.setdefault("context", [])
    for flow in evidence["flows"]:
        flow["amount"], flow["at"] = format_minor(flow["amount"], 2), clock.iso(flow["at"])
        flow.setdefault("channel", None)
        flow.setdefault("purpose", None)
    return {
        "id": row["id"],
        "rule": {"code": row["rule_code"], "version": row["rule_version"]},
        "typology": row["typology"],
        "party": row["party"],
        "window": {
            "start": clock.from_micros(row["window_start"]).isoformat(),
            "end": clock.from_micros(row["window_end"]).isoformat(),
        },
        "amount": format_minor(row["amount"], 2),
        "score": score,
        "evidence": evidence,
        "position": row["position"],
        "raised_at": clock.from_micros(row["raised_at"]).isoformat(),
        "case_id": row["case_id"],
    }


def list_alerts(
    connection,
    party: str | None = None,
    typology: str | None = None,
    case_id: str | None = None,
    limit: int = 100,
    by_score: bool = False,
) -> list[dict]:
    """Alerts in outbox order, or (`by_score`) the `limit` likeliest of all that match."""
    query = select(monitor_alerts)
    if party is not None:
        query = query.where(monitor_alerts.c.party == party)
    if typology is not None:
        query = query.where(monitor_alerts.c.typology == typology)
    if case_id is not None:
        query = query.where(monitor_alerts.c.case_id == case_id)
    if by_score:
        return ranked([alert_json(r) for r in connection.execute(query).mappings()])[:limit]
    rows = connection.execute(query.order_by(monitor_alerts.c.position, monitor_alerts.c.id).limit(limit)).mappings()
    return [alert_json(r) for r in rows]


def get_alert(connection, alert_id_: str) -> dict:
    row = connection.execute(select(monitor_alerts).where(monitor_alerts.c.id == alert_id_)).mappings().first()
    if row is None:
        raise AlertNotFound(f"alert {alert_id_} not found")
    return alert_json(row)
