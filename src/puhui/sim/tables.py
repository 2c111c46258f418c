"""Tables of the simulator: its runs and the ground-truth labels (真值标签) of the planted typologies.

The monitor never reads these: they live apart from every table a rule may see."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from puhui.db.tables import ID_LENGTH, metadata

sim_runs = Table(
    "sim_runs",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("seed", BigInteger, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("days", Integer, nullable=False),
    Column("start_date", String(10), nullable=False),
    Column("status", String(12), nullable=False),  # running | finished
    Column("summary", Text, nullable=True),  # JSON: totals, counts
    Column("created_at", BigInteger, nullable=False),
)

sim_labels = Table(
    "sim_labels",
    metadata,
    Column("id", String(96), primary_key=True),
    Column("run_id", String(ID_LENGTH), nullable=False),
    Column("agent", Integer, nullable=False),  # the agent's index in the run (stable across seeds' reruns)
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("typology", String(24), nullable=False),
    Column("role", String(12), nullable=False),  # principal | accomplice
    Column("payment_id", String(ID_LENGTH), nullable=True),  # None: the customer-level label
    Column("created_at", BigInteger, nullable=False),
)

Index("ix_sim_labels_run_id", sim_labels.c.run_id)

SIM_TABLES = (sim_runs, sim_labels)
