"""Suitability tables (适当性管理), on the platform's one `metadata`: one row per completed risk
questionnaire (风险测评). The questionnaire itself is versioned data in `suitability.py`; a row keeps
the version it was answered on, the answers, the score, the level and when it stops being valid."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from puhui.db.tables import ID_LENGTH, metadata

risk_assessments = Table(
    "risk_assessments",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("version", String(16), nullable=False),  # questionnaire version answered
    Column("answers", Text, nullable=False),  # JSON {question id: choice key}
    Column("score", Integer, nullable=False),
    Column("level", String(2), nullable=False),  # C1..C5
    Column("business_date", String(10), nullable=False),  # YYYY-MM-DD, China time
    Column("assessed_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_risk_assessments_customer_id", "customer_id"),
)

SUITABILITY_TABLES = (risk_assessments,)
