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

# Each line of business (险种) a reserve run booked, with the figures it booked (since migration 0051): a report
# of that date reads them back as they were booked. A line with no row booked nothing that day (zeros). A run
# recorded before 0051 has no line rows: its report reads the medical line from the run's row above and
# works the return-shipping line out again from its append-only covers and claims.
insurance_reserve_run_lines = Table(
    "insurance_reserve_run_lines",
    metadata,
    Column("insurer_id", String(ID_LENGTH), primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("line", String(32), primary_key=True),  # `lines.LINES`: medical, return_shipping
    Column("policies", Integer, nullable=False),
    Column("written", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("earned", BigInteger, nullable=False),
    Column("paid", BigInteger, nullable=False),
    Column("case_reserve", BigInteger, nullable=False),
    Column("ibnr", BigInteger, nullable=False),  # as booked, by `ibnr_method`
    Column("ibnr_bf", BigInteger, nullable=False),
    Column("ibnr_method", String(32), nullable=False),
)

RESERVE_TABLES = (insurance_reserve_runs, insurance_reserve_run_lines, insurer_reserve_terms)
