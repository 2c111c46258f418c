"""What other packages may read of regtech (its tables are its own): the monitor's alerts (预警) by
party and typology, and how many cases (案件) are still open, for the simulator's scoring and the
demo market's summary."""

from __future__ import annotations

import json

from sqlalchemy import Connection, func, select

from puhui.regtech.cases import CLOSED
from puhui.regtech.tables import monitor_alerts, monitor_cases


def alerted_parties(connection: Connection) -> list[tuple[str, str]]:
    """(party, typology of the rule that fired) of every alert raised, and of every other account a
    network alert names (a chain's accounts)."""
    rows = connection.execute(select(monitor_alerts.c.party, monitor_alerts.c.typology, monitor_alerts.c.evidence))
    out = []
    for party, typology, evidence in rows:
        out.append((party, typology))
        if '"accounts"' in evidence:
            out += [(account, typology) for account in json.loads(evidence).get("accounts", []) if account != party]
    return out


def alerts_by_typology(connection: Connection) -> dict[str, int]:
    """How many alerts each typology raised, by typology name."""
    rows = connection.execute(select(monitor_alerts.c.typology, func.count()).group_by(monitor_alerts.c.typology))
    return {typology: int(n) for typology, n in sorted(rows)}


def open_cases(connection: Connection) -> int:
    """How many cases are not closed (neither closed as a false positive nor reported)."""
    found = connection.execute(
        select(func.count()).select_from(monitor_cases).where(monitor_cases.c.status.notin_(sorted(CLOSED)))
    ).scalar_one()
    return int(found)
