"""lending: products, applications, offers, loans, schedules, repayments, provisions, end-of-day runs;
the account codes and platform accounts lending posts to

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# (code, name, 中文, category, normal side)
CODES = [
    ("fee_receivable", "Loan fees receivable", "应收费用", "asset", "debit"),
    ("penalty_receivable", "Penalty interest receivable", "应收罚息", "asset", "debit"),
    ("penalty_income", "Penalty interest income", "罚息收入", "income", "credit"),
    ("recovery_income", "Recoveries of loans written off", "已核销贷款收回", "income", "credit"),
    ("write_off_expense", "Loan receivables written off beyond provision", "贷款核销损失", "expense", "debit"),
]
# The platform's own accounts lending needs on the CNY ledger (provision_expense is in the chart
# of 0002 but has no platform account there).
PLATFORM = ("provision_expense", "penalty_income", "recovery_income", "write_off_expense")


def upgrade() -> None:
    op.create_table(
        "lending_products",
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_lending_products"),
    )
    op.create_table(
        "loan_applications",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("product_code", sa.String(length=48), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("annual_income", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("grade", sa.String(length=4), nullable=True),
        sa.Column("credit_limit", sa.BigInteger(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loan_applications"),
    )
    op.create_index("ix_loan_applications_customer_id", "loan_applications", ["customer_id"], unique=False)
    op.create_table(
        "loan_offers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("nominal_rate", sa.String(length=16), nullable=False),
        sa.Column("annualized_rate", sa.String(length=16), nullable=False),
        sa.Column("total_interest", sa.BigInteger(), nullable=False),
        sa.Column("total_fees", sa.BigInteger(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loan_offers"),
    )
    op.create_index("ix_loan_offers_application_id", "loan_offers", ["application_id"], unique=False)
    op.create_table(
        "loans",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("product_code", sa.String(length=48), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=True),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate", sa.String(length=16), nullable=False),
        sa.Column("penalty_rate_e6", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("start_day", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=8), nullable=False),
        sa.Column("loan_class", sa.String(length=16), nullable=False),
        sa.Column("penalty_accrued", sa.BigInteger(), nullable=False),
        sa.Column("written_off", sa.BigInteger(), nullable=False),
        sa.Column("recovered", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loans"),
    )
    op.create_index("ix_loans_status", "loans", ["status"], unique=False)
    op.create_index("ix_loans_customer_id", "loans", ["customer_id"], unique=False)
    op.create_table(
        "loan_instalments",
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period_start_day", sa.Integer(), nullable=False),
        sa.Column("due_day", sa.Integer(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("principal_paid", sa.BigInteger(), nullable=False),
        sa.Column("interest_paid", sa.BigInteger(), nullable=False),
        sa.Column("fee_paid", sa.BigInteger(), nullable=False),
        sa.Column("interest_accrued", sa.BigInteger(), nullable=False),
        sa.Column("fee_recognized", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", "number", name="pk_loan_instalments"),
    )
    op.create_index("ix_loan_instalments_due_day", "loan_instalments", ["due_day"], unique=False)
    op.create_table(
        "loan_repayments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("business_day", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("penalty", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("early_fee", sa.BigInteger(), nullable=False),
        sa.Column("recovery", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loan_repayments"),
    )
    op.create_index("ix_loan_repayments_loan_id", "loan_repayments", ["loan_id"], unique=False)
    op.create_table(
        "loan_provisions",
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("loan_class", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("business_day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", name="pk_loan_provisions"),
    )
    op.create_table(
        "lending_eod_runs",
        sa.Column("business_day", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("business_day", name="pk_lending_eod_runs"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # End of day rewrites each loan's current instalment (accrual) daily: room on the page lets
        # PostgreSQL update in place (HOT), since no indexed column changes.
        op.execute("ALTER TABLE loan_instalments SET (fillfactor = 70)")
        op.execute("ALTER TABLE loans SET (fillfactor = 80)")
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    accounts = sa.table(
        "accounts", *(sa.column(c) for c in ("id", "ledger", "code", "owner_id", "flags", "created_at"))
    )
    op.bulk_insert(codes, [dict(zip(("code", "name", "name_zh", "category", "normal_side"), row)) for row in CODES])
    op.bulk_insert(
        accounts,
        [
            {
                "id": f"platform.{code}.CNY",
                "ledger": "CNY",
                "code": code,
                "owner_id": "platform",
                "flags": 0,
                "created_at": 0,
            }
            for code in PLATFORM
        ],
    )


def downgrade() -> None:
    ids = ", ".join(f"'platform.{code}.CNY'" for code in PLATFORM)
    op.execute(f"DELETE FROM accounts WHERE id IN ({ids})")
    names = ", ".join(f"'{row[0]}'" for row in CODES)
    op.execute(f"DELETE FROM account_codes WHERE code IN ({names})")
    op.drop_table("lending_eod_runs")
    op.drop_table("loan_provisions")
    op.drop_index("ix_loan_repayments_loan_id", table_name="loan_repayments")
    op.drop_table("loan_repayments")
    op.drop_index("ix_loan_instalments_due_day", table_name="loan_instalments")
    op.drop_table("loan_instalments")
    op.drop_index("ix_loans_status", table_name="loans")
    op.drop_index("ix_loans_customer_id", table_name="loans")
    op.drop_table("loans")
    op.drop_index("ix_loan_offers_application_id", table_name="loan_offers")
    op.drop_table("loan_offers")
    op.drop_index("ix_loan_applications_customer_id", table_name="loan_applications")
    op.drop_table("loan_applications")
    op.drop_table("lending_products")
