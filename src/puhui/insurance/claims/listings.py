"""A customer's medical claims (我的理赔), newest first, as the claims API answers each one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from puhui.insurance.claims import service
from puhui.insurance.claims.tables import insurance_claims as claims

MAX_CLAIMS = 100


def claims_of(connection: Connection, customer_id: str, limit: int = MAX_CLAIMS) -> list[dict[str, Any]]:
    """The customer's own claims, newest first (each with its documents' metadata)."""
    query = (
        select(claims.c.id)
        .where(claims.c.customer_id == customer_id)
        .order_by(claims.c.created_at.desc(), claims.c.id)
        .limit(limit)
    )
    return [service.claim_json(connection, claim_id) for claim_id in connection.execute(query).scalars()]
