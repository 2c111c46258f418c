"""What other modules may read of the simulator (its tables are its own): the latest finished run,
for the demo market (演示市场) that reads a run back at a later start."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from puhui.sim.tables import sim_runs


def latest_finished_run(connection: Connection) -> dict[str, Any] | None:
    """The latest finished simulation run in this database (its row: id, seed, customers, days,
    start_date, summary, ...), or None."""
    row = (
        connection.execute(
            select(sim_runs)
            .where(sim_runs.c.status == "finished")
            .order_by(sim_runs.c.created_at.desc(), sim_runs.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None
