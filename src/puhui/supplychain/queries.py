"""What other packages may read of supply-chain finance (its tables are its own)."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from puhui.supplychain.tables import sc_receivables


def financed(connection: Connection, start: int, end: int) -> tuple[int, int]:
    """(how many receivables, Σ face in fen) financed (保理融资) in [start, end)."""
    count, total = connection.execute(
        select(func.count(), func.coalesce(func.sum(sc_receivables.c.face), 0)).where(
            sc_receivables.c.financed_at >= start, sc_receivables.c.financed_at < end
        )
    ).one()
    return int(count), int(total)
