"""The sandbox clock's one row: how far the platform clock runs ahead of wall time."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, Table

from puhui.db.tables import metadata

sandbox_clock = Table(
    "sandbox_clock",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("offset_micros", BigInteger, nullable=False),  # platform time = wall time + offset (>= 0)
    Column("updated_at", BigInteger, nullable=False),  # wall-clock UTC microseconds of the last move
)
