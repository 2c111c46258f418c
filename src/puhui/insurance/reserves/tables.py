"""Reserve tables (准备金), on the platform's one `metadata`. The money is on the ledger (the insurer's
sub-ledger, `puhui.insurance.reserves.service`); these rows keep each insurer's daily figures, so a
report reads a date without recomputing it, and the ratios an insurer's reports use. Fen amounts."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Integer, String, Table

from puhui.db.tables import ID_LENGTH, metadata

# One row per insurer per business date the reserve end of day ran: cumulative figures at its end.
insurance_reserve_runs = Table(
    "insurance_reserve_runs",
    metadata,
    Column("insurer_id", String(ID_LENGTH), primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("policies", Integer, nullable=False),
    Column("written", BigInteger, nullable=False),  # 保费收入 (gross, since the first policy)
    Column("refunded", BigInteger, nullable=False),  # 退保金
    Column("earned", BigInteger, nullable=False),  # 已赚保费
    Column("upr", BigInteger, nullable=False),  # 未到期责任准备金
    Column("paid", BigInteger, nullable=False),  # 赔付支出
    Column("case_reserve", BigInteger, nullable=False),  # 未决赔款准备金 (已报案)
    Column("ibnr", BigInteger, nullable=False),  # IBNR booked: chain-ladder on paid
    Column("ibnr_bf", BigInteger, nullable=False),  # IBNR by Bornhuetter-Ferguson, for comparison
    Column("transfers", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
)

# An insurer's ratios as data (decimal strings): a-priori expected loss ratio for BF, commission and
# expense ratios for the combined ratio. Without a row the defaults of `service.DEFAULT_TERMS` apply.
insurer_reserve_terms = Table(
    "insurer_reserve_terms",
    metadata,
    Column("insurer_id", String(ID_LENGTH), primary_key=True),
    Column("expected_loss_ratio", String(12), nullable=False),
    Column("commission_ratio", String(12), nullable=False),
    Column("expense_ratio", String(12), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

RESERVE_TABLES = (insurance_reserve_runs, insurer_reserve_terms)
