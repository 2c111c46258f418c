"""Claims tables (理赔), on the platform's one `metadata`. Amounts in fen, timestamps in UTC microseconds.

A claim's status runs review → approved → paid, or approved → paid straight through, or declined;
`approved` with `paid_at` empty is a claim the insurer's held premiums could not yet pay (待支付)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, LargeBinary, String, Table, Text, UniqueConstraint

from puhui.db.tables import ID_LENGTH, metadata

# A claim (赔案): what was reported, what the rules decided and what was paid.
insurance_claims = Table(
    "insurance_claims",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("client_id", String(ID_LENGTH), nullable=False),
    Column("policy_id", String(ID_LENGTH), nullable=False),
    Column("insurer_id", String(ID_LENGTH), nullable=False),
    Column("product_code", String(48), nullable=False),
    Column("kind", String(12), nullable=False),  # illness | accident
    Column("condition", String(32), nullable=False),  # diagnosis code (诊断编码)
    Column("event_date", Date, nullable=False),  # 出险日期
    Column("reported_date", Date, nullable=False),  # 报案日期 (China business date)
    Column("billed", BigInteger, nullable=False),
    Column("social_insurance_paid", BigInteger, nullable=False),
    Column("documents_sha256", String(64), nullable=False),  # sha256 over the documents' hashes, in order
    Column("benefit", BigInteger, nullable=False),  # adjudicated (or provisional, under review)
    Column("deductible_applied", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # review | approved | paid | declined
    Column("reasons", Text, nullable=False),  # JSON list of reason codes
    Column("fraud_score", String(24), nullable=True),  # filled by a scorer hook or later by a fraud model
    Column("transfer_id", String(ID_LENGTH), nullable=True),
    Column("paid_date", Date, nullable=True),
    Column("decided_by", String(ID_LENGTH), nullable=True),
    # the reviewer's words (人工审核): the reason for a decline (拒赔理由, told to the customer) or the approval's note
    Column("decision_note", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("decided_at", BigInteger, nullable=True),
    Column("paid_at", BigInteger, nullable=True),
    UniqueConstraint("customer_id", "client_id", name="uq_insurance_claims_customer_client"),
    UniqueConstraint(  # the same papers claimed twice
        "policy_id", "event_date", "condition", "billed", "documents_sha256", name="uq_insurance_claims_duplicate"
    ),
    Index("ix_insurance_claims_status", "status", "created_at"),
)

# A claim's documents (理赔材料): content kept with its sha256 and metadata.
insurance_claim_documents = Table(
    "insurance_claim_documents",
    metadata,
    Column("claim_id", String(ID_LENGTH), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("name", String(128), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
)

CLAIMS_TABLES = (insurance_claims, insurance_claim_documents)
