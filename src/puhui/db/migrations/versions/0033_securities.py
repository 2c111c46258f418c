"""securities: brokerage accounts, instruments, orders and the exchange simulator's persisted books

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
