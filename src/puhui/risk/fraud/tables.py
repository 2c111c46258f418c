"""Fraud tables, on the platform's one `metadata`: rules as versioned data (the newest version of a
rule is the current one), block lists, and the log of decisions with the rule versions they used.
Times are UTC microseconds."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from puhui.db.tables import ID_LENGTH, Seq, metadata

risk_rules = Table(
    "risk_rules",
    metadata,
    Column("rule_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("action", String(8), nullable=False),  # review | decline
    Column("enabled", Boolean, nullable=False),
    Column("description", String(500), nullable=False),
    Column("created_by", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("rule_id", "version", name="pk_risk_rules"),
)

risk_blocklists = Table(
    "risk_blocklists",
    metadata,
    Column("list_name", String(64), nullable=False),
    Column("value", String(ID_LENGTH), nullable=False),
    Column("added_by", String(ID_LENGTH), nullable=False),
    Column("added_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("list_name", "value", name="pk_risk_blocklists"),
)

risk_decisions = Table(
    "risk_decisions",
    metadata,
    Column("id", Seq, Identity(), primary_key=True),
    Column("payment_ref", String(ID_LENGTH), nullable=True),
    Column("payer_id", String(ID_LENGTH), nullable=False),
    Column("payee_id", String(ID_LENGTH), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("outcome", String(10), nullable=False),  # approve | challenge | review | decline
    Column("score", Integer, nullable=True),  # 0-1000, none without a score rule
    Column("reasons", Text, nullable=False),  # JSON list
    Column("rule_versions", Text, nullable=False),  # JSON {rule_id: version}
    Column("at", BigInteger, nullable=False),
    Index("ix_risk_decisions_payer_id", "payer_id"),
)

FRAUD_TABLES = (risk_rules, risk_blocklists, risk_decisions)
