"""The one record of which business dates each end-of-day job (日终批处理) has completed."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table

from puhui.db.tables import metadata

eod_runs = Table(
    "eod_runs",
    metadata,
    Column("job", String(32), nullable=False),  # e.g. "lending", "wealth.mmf", "settlement"
    Column("business_date", String(10), nullable=False),  # YYYY-MM-DD, China time
    Column("completed_at", BigInteger, nullable=False),  # UTC microseconds
    PrimaryKeyConstraint("job", "business_date", name="pk_eod_runs"),
)
