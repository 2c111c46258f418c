"""Regulatory report tables, on the platform's one `metadata`: one row per report (报告) with its
file, its deadline (报送期限) and its status. Times are UTC microseconds, dates China dates.

`regulatory_reports` holds the daily large-value reports (大额交易报告); `suspicious_reports` the
suspicious transaction reports (可疑交易报告), one per reported case."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from puhui.db.tables import ID_LENGTH, metadata

regulatory_reports = Table(
    "regulatory_reports",
    metadata,
    Column("id", String(ID_LENGTH), nullable=False),
    Column("kind", String(16), nullable=False),  # large_value (大额交易报告)
    Column("business_date", String(10), nullable=False),  # the China date the report covers
    Column("deadline", String(10), nullable=False),  # 5 working days after business_date
    Column("status", String(10), nullable=False),  # generated | submitted
    Column("lines", Integer, nullable=False),
    Column("content", Text, nullable=False),  # the file (CSV, schema in puhui.regtech.reports)
    Column("sha256", String(64), nullable=False),
    Column("created_by", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("submitted_by", String(ID_LENGTH), nullable=True),
    Column("submitted_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_regulatory_reports"),
    UniqueConstraint("kind", "business_date", name="uq_regulatory_reports_kind_date"),
    Index("ix_regulatory_reports_status", "status", "deadline"),
)

suspicious_reports = Table(
    "suspicious_reports",
    metadata,
    Column("id", String(ID_LENGTH), nullable=False),
    Column("case_id", String(ID_LENGTH), nullable=False),
    Column("party", String(ID_LENGTH), nullable=False),
    Column("party_kind", String(12), nullable=False),  # natural (自然人) | non_natural (非自然人)
    Column("determined_on", String(10), nullable=False),  # China date the case was escalated (认定可疑之日)
    Column("deadline", String(10), nullable=False),  # 5 working days after determined_on
    Column("status", String(10), nullable=False),  # generated | submitted
    Column("transactions", Integer, nullable=False),
    Column("total_amount", BigInteger, nullable=False),  # fen
    Column("content", Text, nullable=False),  # the file (JSON, schema in puhui.regtech.str_report)
    Column("sha256", String(64), nullable=False),
    Column("created_by", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("submitted_by", String(ID_LENGTH), nullable=True),
    Column("submitted_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_suspicious_reports"),
    UniqueConstraint("case_id", name="uq_suspicious_reports_case_id"),
    Index("ix_suspicious_reports_status", "status", "deadline"),
)

REPORT_TABLES = (regulatory_reports, suspicious_reports)
