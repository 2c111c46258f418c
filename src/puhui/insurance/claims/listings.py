"""Medical claims newest first, as the claims API answers each one: a customer's own (我的理赔), or for the
staff who review claims every customer's, by status."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from puhui.insurance.claims import service
from puhui.insurance.claims.tables import insurance_claims as claims

MAX_CLAIMS = 100


def claims_of(connection: Connection, customer_id: str, limit: int = MAX_CLAIMS) -> list[dict[str, Any]]:
    """The customer's own claims, newest first (each with its documents' metadata)."""
    return claims_listed(connection, customer_id, None, limit)


def claims_listed(
    connection: Connection, customer_id: str | None, status: str | None = None, limit: int = MAX_CLAIMS
) -> list[dict[str, Any]]:
    """Claims newest first, each as the claims API answers one (`service.claim_json`): the customer's own
    (every customer's with None), only those in `status` when given."""
    query = select(claims.c.id).order_by(claims.c.created_at.desc(), claims.c.id).limit(limit)
    if customer_id is not None:
        query = query.where(claims.c.customer_id == customer_id)
    if status is not None:
        query = query.where(claims.c.status == status)
    return [service.claim_json(connection, claim_id) for claim_id in connection.execute(query).scalars()]
