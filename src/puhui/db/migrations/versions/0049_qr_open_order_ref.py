"""payments: a merchant's order reference (商户订单号) names one open or paid dynamic QR code at a time
(`qr_codes.open_order_ref`, unique per merchant; NULL for codes that hold no order)

Existing rows are backfilled: of each merchant's dynamic codes for one order_ref that are open or paid, one
holds it (a paid one first, else the newest open one); any others made before this migration (the
duplicates it prevents from now on) are left as they are, holding nothing. An open one among them stays
payable until it expires (24 hours at most) or is cancelled.

Revision ID: 0049
Revises: 0046
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0046"
branch_labels = None
depends_on = None

# Per (merchant, order_ref): the open or paid dynamic code that holds the order, a paid one first, then the
# newest; a correlated subquery both SQLite and PostgreSQL run.
BACKFILL = """
UPDATE qr_codes SET open_order_ref = order_ref
WHERE kind = 'dynamic' AND order_ref IS NOT NULL AND status IN ('active', 'paid')
  AND id = (
    SELECT q.id FROM qr_codes q
    WHERE q.merchant_id = qr_codes.merchant_id AND q.order_ref = qr_codes.order_ref
      AND q.kind = 'dynamic' AND q.status IN ('active', 'paid')
    ORDER BY CASE WHEN q.status = 'paid' THEN 0 ELSE 1 END, q.created_at DESC, q.id DESC
    LIMIT 1
  )
"""


def upgrade() -> None:
    with op.batch_alter_table("qr_codes") as batch:
        batch.add_column(sa.Column("open_order_ref", sa.String(64), nullable=True))
    op.execute(BACKFILL)
    op.create_index("uq_qr_codes_open_order_ref", "qr_codes", ["merchant_id", "open_order_ref"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_qr_codes_open_order_ref", table_name="qr_codes")
    with op.batch_alter_table("qr_codes") as batch:
        batch.drop_column("open_order_ref")
