"""Lists of return-shipping insurance (退货运费险): the cover on offer at checkout (the newest product version,
if any), and a merchant's covered orders with their claims, as the merchant portal and the API show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from puhui.insurance.returns import errors, service
from puhui.insurance.returns.tables import return_shipping_claims as claims
from puhui.insurance.returns.tables import return_shipping_policies as policies
from puhui.insurance.returns.tables import return_shipping_products as products
from puhui.payments import service as payments


def offered_product(connection: Connection) -> dict[str, Any] | None:
    """The most recently added return-shipping product version (None when there is none)."""
    query = select(products.c.code, products.c.version).order_by(products.c.created_at.desc(), products.c.code)
    row = connection.execute(query.limit(1)).first()
    return None if row is None else service.product_json(connection, row.code, row.version)


# -- the merchant's covered orders -----------------------------------------------------------------

MERCHANT_PAGE = 20
"""How many covered orders a merchant's page lists by default (at most 100: the API's `Limit`)."""


def merchant_policies(
    connection: Connection, merchant_id: str, limit: int = MERCHANT_PAGE, offset: int = 0
) -> dict[str, Any]:
    """The merchant's covered orders (投保订单), newest first: `limit` of them after the first `offset`,
    each as `merchant_policy` answers one, and the offset of the next page (`next_offset`, None on the last)."""
    query = (
        select(policies)
        .where(policies.c.merchant_id == merchant_id)
        .order_by(policies.c.created_at.desc(), policies.c.id.desc())
        .offset(offset)
        .limit(limit + 1)
    )
    rows = list(connection.execute(query).mappings())
    shown = rows[:limit]
    wanted = [row["id"] for row in shown]
    paid = {
        c["policy_id"]: c for c in connection.execute(select(claims).where(claims.c.policy_id.in_(wanted))).mappings()
    }
    return {
        "policies": [_merchant_answer(connection, row, paid.get(row["id"])) for row in shown],
        "next_offset": offset + limit if len(rows) > limit else None,
    }


def merchant_policy(connection: Connection, merchant_id: str, policy_id: str) -> dict[str, Any]:
    """One of the merchant's covered orders: the policy (its status as of today), its claim if paid and the
    order's reference (商户订单号, None when its QR code named none); another merchant's is not found, as
    `service.confirm_return` refuses it."""
    row = connection.execute(select(policies).where(policies.c.id == policy_id)).mappings().first()
    if row is None or row["merchant_id"] != merchant_id:
        raise errors.ReturnShippingPolicyNotFound(f"policy {policy_id} not found")
    claim = connection.execute(select(claims).where(claims.c.policy_id == policy_id)).mappings().first()
    return _merchant_answer(connection, row, claim)


def _merchant_answer(connection: Connection, row: Any, claim: Any) -> dict[str, Any]:
    return {
        "policy": service.policy_json(row),
        "claim": None if claim is None else service.claim_json(claim),
        "order_ref": _order_ref(connection, row["payment_id"]),
    }


def _order_ref(connection: Connection, payment_id: str) -> str | None:
    """The merchant's own reference of the order the policy covers: its dynamic QR code's `order_ref`."""
    qr_id = payments.get_payment(connection, payment_id)["qr_code_id"]
    return payments.get_qr(connection, qr_id)["order_ref"] if qr_id else None
