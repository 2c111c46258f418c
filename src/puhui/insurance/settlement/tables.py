"""Insurer settlement tables (保费结算), on the platform's one `metadata`.

Money lives in the ledger (`insurer.<id>.premium_held`, the platform's commission income, the reserve
bank account); these rows say on what terms each insurer settles and what each remittance took and paid.
Amounts in fen, timestamps in UTC microseconds."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Integer, String, Table, UniqueConstraint

from puhui.db.tables import ID_LENGTH, metadata

# An insurer's settlement terms (结算条款): commission rate, remittance schedule, settlement account.
insurer_settlement_terms = Table(
    "insurer_settlement_terms",
    metadata,
    Column("insurer_id", String(ID_LENGTH), primary_key=True),
    Column("commission_rate", String(16), nullable=False),  # a decimal string, e.g. "0.15"
    Column("schedule_kind", String(8), nullable=False),  # monthly | every
    Column("schedule_value", Integer, nullable=False),  # day of month, or days between remittances
    Column("bank_name", String(64), nullable=False),
    Column("bank_account", String(32), nullable=False),  # shown masked
    # kept back from every remittance for the claims the platform pays on the insurer's behalf (理赔备付金)
    Column("claims_float", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", BigInteger, nullable=False),
)

# One remittance (保费划转) per insurer and period [period_start, through]: unique per through date (so a
# rerun moves nothing) and per period start (so two racing runs cannot both take the same period).
insurer_remittances = Table(
    "insurer_remittances",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("insurer_id", String(ID_LENGTH), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("through", Date, nullable=False),
    Column("premiums", BigInteger, nullable=False),
    Column("refunds", BigInteger, nullable=False),
    Column("commission_rate", String(16), nullable=False),
    Column("commission", BigInteger, nullable=False),
    Column("carried", BigInteger, nullable=False),  # commission carried to the next period (may be < 0)
    Column("remitted", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # what it was taken from, as it was made (NULL for remittances made before migration 0045)
    Column("held", BigInteger, nullable=True),
    Column("later_premiums", BigInteger, nullable=True),
    # the insurer's own funding (理赔备付金) in `held`: received since the remittance before (NULL before 0046)
    Column("insurer_funding", BigInteger, nullable=True),
    UniqueConstraint("insurer_id", "through", name="uq_insurer_remittances_insurer_through"),
    UniqueConstraint("insurer_id", "period_start", name="uq_insurer_remittances_insurer_period_start"),
)

SETTLEMENT_TABLES = (insurer_settlement_terms, insurer_remittances)
