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
        """0-100: the typology's weight, more for more money and for more accounts involved (排序)."""
        weight = TYPOLOGY_WEIGHTS.get(self.typology, 50)
        size = min(20, max(0, len(str(max(self.amount, 1) // 100)) - 2) * 4)  # +4 per digit above 100 CNY
        return min(100, weight + size + min(15, 3 * max(0, len(self.accounts) - 2)))

    def row(self, raised_at: int) -> dict:
        evidence: dict = {"key": self.key, "score": self.score, "flows": [f.evidence() for f in self.flows]}
        if self.accounts:
            evidence["accounts"] = list(self.accounts)  # only a network alert names more than its party
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
    for flow in evidence["flows"]:
        flow["amount"], flow["at"] = format_minor(flow["amount"], 2), clock.iso(flow["at"])
        flow.setdefault("channel", None)
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
