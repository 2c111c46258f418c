"""What a customer's insurance page lists (保险列表): the medical products on offer (each code's newest
version) and the customer's own policies, newest first, each with what cancelling today would refund
(退保退费: all of it within the cooling-off period 犹豫期, pro rata after) and whether renewal (续保) is
open. Read-only; for the console, the API's list routes and other readers outside the package."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, select

from puhui import clock
from puhui.insurance import service
from puhui.insurance.tables import insurance_policies as policies
from puhui.insurance.tables import insurance_products as products
from puhui.money import format_minor

MAX_POLICIES = 100


def medical_products(connection: Connection) -> list[dict[str, Any]]:
    """Each medical product's newest version (最新版本), by code."""
    newest = (
        select(products.c.code, func.max(products.c.version).label("version"))
        .where(products.c.kind == service.MEDICAL)
        .group_by(products.c.code)
        .order_by(products.c.code)
    )
    return [service.product_json(connection, row.code, row.version) for row in connection.execute(newest)]


def _newest_policies(connection: Connection, customer_id: str | None, limit: int) -> list[Any]:
    """The customer's policies (every customer's with None), newest first, at most `limit`."""
    query = select(policies).order_by(policies.c.created_at.desc(), policies.c.id).limit(limit)
    if customer_id is not None:
        query = query.where(policies.c.customer_id == customer_id)
    return list(connection.execute(query).mappings())


def policy_answers(connection: Connection, customer_id: str | None, limit: int = MAX_POLICIES) -> list[dict[str, Any]]:
    """The customer's policies (every customer's with None), newest first, each exactly as the API answers
    one policy (`service.policy_answer`: its row and what cancelling it refunds and why)."""
    return [service.policy_answer(connection, row) for row in _newest_policies(connection, customer_id, limit)]


def policies_of(connection: Connection, customer_id: str, limit: int = MAX_POLICIES) -> list[dict[str, Any]]:
    """The customer's policies (我的保单), newest first, with the refund of a cancellation today and
    whether a renewal is open today."""
    rows = _newest_policies(connection, customer_id, limit)
    renewed = {row["renewed_from"] for row in rows if row["renewed_from"] is not None}
    today = clock.business_date()
    return [_listed(connection, row, today, row["id"] in renewed) for row in rows]


def _listed(connection: Connection, row: Any, today: dt.date, renewed: bool) -> dict[str, Any]:
    shown = service.policy_json(row)
    active = row["status"] == service.ACTIVE
    product = service.get_product(connection, row["product_code"], row["product_version"])
    terms = service.cancellation_of(connection, row)  # nothing after a claim paid (`service.cancel`)
    refund = terms.refund if active and terms is not None else None
    opens = row["end_date"] - dt.timedelta(days=service.RENEWAL_OPENS_DAYS)
    cooling_off_ends = row["start_date"] + dt.timedelta(days=product.cooling_off_days)
    return {
        **shown,
        "cancellation": service.cancellation_json(terms, row["premium"]),
        "product_name": product.name,
        "refund_if_cancelled": None if refund is None else format_minor(refund, 2),
        "in_cooling_off": active and today < cooling_off_ends,
        "cooling_off_ends": cooling_off_ends.isoformat(),
        "renewal_open": active and not renewed and opens <= today < row["end_date"],
        "renewal_opens": opens.isoformat(),
    }
