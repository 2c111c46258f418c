"""insurance: insurer remittance, commission and partner files

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
