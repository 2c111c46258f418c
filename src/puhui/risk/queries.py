"""What other packages may read of risk (its tables are its own): the fraud engine's decisions
(风控决策) of a time range, for the simulator's scoring of what it stopped."""

from __future__ import annotations

from sqlalchemy import Connection, select

from puhui.risk.fraud.tables import risk_decisions


def fraud_decisions_between(connection: Connection, start: int, end: int) -> list[tuple[str | None, str]]:
    """(payment reference, outcome: approve | review | decline) of each decision made in [start, end)
    (UTC microseconds), in the order made; the reference is None where the attempt named no payment."""
    rows = connection.execute(
        select(risk_decisions.c.payment_ref, risk_decisions.c.outcome)
        .where(risk_decisions.c.at >= start, risk_decisions.c.at < end)
        .order_by(risk_decisions.c.id)
    )
    return [(ref, outcome) for ref, outcome in rows]
