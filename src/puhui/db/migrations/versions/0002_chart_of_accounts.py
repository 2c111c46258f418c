"""The platform chart of accounts, the currency ledgers and the platform's own accounts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LEDGERS = [
    {"code": "CNY", "name": "Chinese yuan renminbi", "kind": "currency", "scale": 2},
    {"code": "USD", "name": "US dollar", "kind": "currency", "scale": 2},
]

# (code, name, 中文, category, normal side)
CHART = [
    ("customer_wallet", "Customer wallet balances", "客户钱包余额", "liability", "credit"),
    ("merchant_wallet", "Merchant balances awaiting settlement", "商户待结算款", "liability", "credit"),
    ("reserve_bank", "Customer reserve funds at the custodian bank", "客户备付金", "asset", "debit"),
    ("clearing", "Clearing in transit with banks and networks", "清算往来", "asset", "debit"),
    ("suspense", "Suspense: unmatched items awaiting resolution", "待处理挂账", "asset", "debit"),
    ("fee_income", "Fee income", "手续费收入", "income", "credit"),
    ("interest_income", "Interest income", "利息收入", "income", "credit"),
    ("loan_receivable", "Loan principal receivable", "贷款本金", "asset", "debit"),
    ("interest_receivable", "Interest receivable", "应收利息", "asset", "debit"),
    ("loan_loss_provision", "Loan loss provision (contra-asset)", "贷款损失准备", "asset", "credit"),
    ("provision_expense", "Credit impairment expense", "信用减值损失", "expense", "debit"),
    ("fund_assets", "Fund assets held for customers", "基金资产", "asset", "debit"),
    ("premium_income", "Insurance premiums", "保费收入", "income", "credit"),
    ("claim_reserve", "Claim reserves", "理赔准备金", "liability", "credit"),
    ("partner_funding", "Funding partner balances", "合作机构资金", "liability", "credit"),
    ("equity", "Owner's equity and capital", "所有者权益", "equity", "credit"),
]

# The platform's own accounts, one per ledger: (code, flags). Flag 1 = debits must not exceed
# credits, 2 = credits must not exceed debits: bank cash cannot go below zero.
PLATFORM_ACCOUNTS = [
    ("reserve_bank", 2),
    ("clearing", 0),
    ("suspense", 0),
    ("fee_income", 0),
    ("interest_income", 0),
    ("equity", 0),
]


def upgrade() -> None:
    ledgers = sa.table("ledgers", *(sa.column(c) for c in ("code", "name", "kind", "scale")))
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    accounts = sa.table(
        "accounts", *(sa.column(c) for c in ("id", "ledger", "code", "owner_id", "flags", "created_at"))
    )
    op.bulk_insert(ledgers, LEDGERS)
    op.bulk_insert(
        codes,
        [dict(zip(("code", "name", "name_zh", "category", "normal_side"), row)) for row in CHART],
    )
    op.bulk_insert(
        accounts,
        [
            {
                "id": f"platform.{code}.{ledger['code']}",
                "ledger": ledger["code"],
                "code": code,
                "owner_id": "platform",
                "flags": flags,
                "created_at": 0,
            }
            for ledger in LEDGERS
            for code, flags in PLATFORM_ACCOUNTS
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM accounts WHERE owner_id = 'platform'")
    op.execute("DELETE FROM account_codes")
    op.execute("DELETE FROM ledgers")
