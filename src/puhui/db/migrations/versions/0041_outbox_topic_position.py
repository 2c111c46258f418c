"""outbox: an index on (topic, position), so a consumer of one topic reads only its own events

Revision ID: 0041
Revises: 0040
"""

from __future__ import annotations

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_topic_position", "outbox", ["topic", "position"])


def downgrade() -> None:
    op.drop_index("ix_outbox_topic_position", table_name="outbox")
