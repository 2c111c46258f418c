"""Insurance tables (互联网保险), on the platform's one `metadata`.

Money lives in the ledger (`insurer.<id>.premium_held`, the customer's wallet); these rows say who the
insurers are, what each product version's terms were, which policies were sold on which version, and
the hash-chained record of every sale (销售行为回溯). Amounts in fen, timestamps in UTC microseconds."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, String, Table, Text, UniqueConstraint

from puhui.db.tables import ID_LENGTH, metadata

# An insurer (保险公司): an identity partner with its own account for premiums held.
insurers = Table(
    "insurers",
    metadata,
    Column("partner_id", String(ID_LENGTH), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

# A product version (产品版本) as data: its terms as canonical JSON; a policy points to it forever.
insurance_products = Table(
    "insurance_products",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("insurer_id", String(ID_LENGTH), nullable=False),
    Column("kind", String(16), nullable=False),  # medical
    Column("terms", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# A policy (保单): the version sold, the insured's age and social-insurance status, premium and cover.
insurance_policies = Table(
    "insurance_policies",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("client_id", String(ID_LENGTH), nullable=False),
    Column("product_code", String(48), nullable=False),
    Column("product_version", Integer, nullable=False),
    Column("insurer_id", String(ID_LENGTH), nullable=False),
    Column("insured_age", Integer, nullable=False),
    Column("social_insurance", Boolean, nullable=False),
    Column("premium", BigInteger, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("status", String(12), nullable=False),  # active | cancelled
    Column("refund", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("cancelled_at", BigInteger, nullable=True),
    Column("exclusions", Text, nullable=True),  # JSON list of excluded conditions (除外责任) from underwriting
    Column("renewed_from", String(ID_LENGTH), nullable=True, unique=True),  # 续保: the policy this one renews
    # what the cancellation (退保) decided as it was made (NULL while active, and for policies cancelled before
    # migration 0046): why it refunded what it did, on which day, the cooling-off period's last day, the claims
    Column("refund_reason", String(16), nullable=True),  # models.RefundReason
    Column("cancelled_on", Date, nullable=True),
    Column("cooling_off_last_day", Date, nullable=True),
    Column("refund_claims_paid", BigInteger, nullable=True),
    Column("refund_claims_owed", BigInteger, nullable=True),
    UniqueConstraint("customer_id", "client_id", name="uq_insurance_policies_customer_client"),
)

# Every sale, hash-chained in `seq` order (回溯): hash = sha256(prev_hash + canonical JSON of the row).
# `prev_hash` is unique, so two sales can never both follow the same one.
insurance_sales = Table(
    "insurance_sales",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", String(ID_LENGTH), nullable=False, unique=True),
    Column("product_code", String(48), nullable=False),
    Column("product_version", Integer, nullable=False),
    Column("disclosure_sha256", String(64), nullable=False),
    Column("confirmations", Text, nullable=False),
    Column("underwriting", Text, nullable=True),  # 健康告知: the answers and the outcome (JSON), when asked
    Column("at", BigInteger, nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False),
    Index("ix_insurance_sales_product", "product_code", "product_version"),
)

INSURANCE_TABLES = (insurers, insurance_products, insurance_policies, insurance_sales)
