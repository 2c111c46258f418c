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

    @property
    def amount(self) -> int:
        return sum(f.amount for f in self.flows)

    def row(self, raised_at: int) -> dict:
        evidence = {"key": self.key, "flows": [f.evidence() for f in self.flows]}
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


def alert_id(rule_code: str, party: str, key: str) -> str:
    digest = hashlib.sha256(f"{rule_code}\x1f{party}\x1f{key}".encode()).hexdigest()[:32]
    return f"alr_{digest}"


def insert_alerts(uow: UnitOfWork, alerts: list[Alert]) -> int:
    """Insert the alerts not already stored (a guard; the monitor's state already prevents repeats)."""
    if not alerts:
        return 0
    ids = [a.id for a in alerts]
    seen = set(uow.execute(select(monitor_alerts.c.id).where(monitor_alerts.c.id.in_(ids))).scalars())
    now = clock.now_micros()
    rows = [a.row(now) for a in alerts if a.id not in seen]
    if rows:
        uow.execute(monitor_alerts.insert(), rows)
    return len(rows)


def alert_json(row) -> dict:
    evidence = json.loads(row["evidence"])
    for flow in evidence["flows"]:
        flow["amount"], flow["at"] = format_minor(flow["amount"], 2), clock.iso(flow["at"])
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
        "evidence": evidence,
        "position": row["position"],
        "raised_at": clock.from_micros(row["raised_at"]).isoformat(),
        "case_id": row["case_id"],
    }


def list_alerts(
    connection, party: str | None = None, typology: str | None = None, case_id: str | None = None, limit: int = 100
) -> list[dict]:
    query = select(monitor_alerts)
    if party is not None:
        query = query.where(monitor_alerts.c.party == party)
    if typology is not None:
        query = query.where(monitor_alerts.c.typology == typology)
    if case_id is not None:
        query = query.where(monitor_alerts.c.case_id == case_id)
    rows = connection.execute(query.order_by(monitor_alerts.c.position, monitor_alerts.c.id).limit(limit)).mappings()
    return [alert_json(r) for r in rows]


def get_alert(connection, alert_id_: str) -> dict:
    row = connection.execute(select(monitor_alerts).where(monitor_alerts.c.id == alert_id_)).mappings().first()
    if row is None:
        raise AlertNotFound(f"alert {alert_id_} not found")
    return alert_json(row)
