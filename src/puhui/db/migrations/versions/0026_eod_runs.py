"""eod: the business dates every end-of-day job completed, filled from the jobs' own run records

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# (job, query of its completed dates (YYYY-MM-DD) with a completion time) from the records kept so far
SOURCES = (
    ("wealth.mmf", "SELECT business_date, max(finished_at) FROM mmf_eod_runs GROUP BY business_date"),
    ("wealth.funds", "SELECT business_date, finished_at FROM fund_eod_runs"),
    ("settlement", "SELECT business_date, max(created_at) FROM settlements GROUP BY business_date"),
    ("reconciliation", "SELECT business_date, max(created_at) FROM recon_exceptions GROUP BY business_date"),
    ("reconciliation", "SELECT DISTINCT business_date, 0 FROM recon_lines"),
)


def upgrade() -> None:
    table = op.create_table(
        "eod_runs",
        sa.Column("job", sa.String(32), nullable=False),
        sa.Column("business_date", sa.String(10), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job", "business_date", name="pk_eod_runs"),
    )
    connection = op.get_bind()
    rows: dict[tuple[str, str], int] = {}
    lending = "SELECT business_day, finished_at FROM lending_eod_runs WHERE status = 'done'"
    for day, at in connection.execute(sa.text(lending)):
        rows[("lending", dt.date.fromordinal(day).isoformat())] = at
    for job, query in SOURCES:
        for day, at in connection.execute(sa.text(query)):
            rows[(job, day)] = max(rows.get((job, day), 0), at or 0)
    if rows:
        op.bulk_insert(
            table, [{"job": j, "business_date": d, "completed_at": at} for (j, d), at in sorted(rows.items())]
        )


def downgrade() -> None:
    op.drop_table("eod_runs")
