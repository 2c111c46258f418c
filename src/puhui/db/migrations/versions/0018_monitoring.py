"""monitoring: rules as data, window state, alerts and cases

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_rules",
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", "version", name="pk_monitor_rules"),
    )
    op.create_table(
        "monitor_flows",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("leg", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("counterparty", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("party_kind", sa.String(length=12), nullable=False),
        sa.Column("cross_border", sa.Boolean(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "position", "leg", name="pk_monitor_flows"),
    )
    op.create_index("ix_monitor_flows_consumer_at", "monitor_flows", ["consumer", "at"], unique=False)
    op.create_table(
        "monitor_alerts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("rule_code", sa.String(length=48), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("typology", sa.String(length=24), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_at", sa.BigInteger(), nullable=False),
        sa.Column("raised_at", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_alerts"),
    )
    op.create_index("ix_monitor_alerts_party", "monitor_alerts", ["party"], unique=False)
    op.create_index("ix_monitor_alerts_case_id", "monitor_alerts", ["case_id"], unique=False)
    op.create_index("ix_monitor_alerts_rule_code", "monitor_alerts", ["rule_code"], unique=False)
    op.create_table(
        "monitor_cases",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_cases"),
    )
    op.create_index("ix_monitor_cases_status", "monitor_cases", ["status"], unique=False)
    op.create_table(
        "monitor_case_events",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name="pk_monitor_case_events"),
    )


def downgrade() -> None:
    op.drop_table("monitor_case_events")
    op.drop_index("ix_monitor_cases_status", table_name="monitor_cases")
    op.drop_table("monitor_cases")
    op.drop_index("ix_monitor_alerts_rule_code", table_name="monitor_alerts")
    op.drop_index("ix_monitor_alerts_case_id", table_name="monitor_alerts")
    op.drop_index("ix_monitor_alerts_party", table_name="monitor_alerts")
    op.drop_table("monitor_alerts")
    op.drop_index("ix_monitor_flows_consumer_at", table_name="monitor_flows")
    op.drop_table("monitor_flows")
    op.drop_table("monitor_rules")
