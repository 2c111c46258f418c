"""The return-shipping cover on offer at checkout (退货运费险): the newest product version, if any."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from puhui.insurance.returns import service
from puhui.insurance.returns.tables import return_shipping_products as products


def offered_product(connection: Connection) -> dict[str, Any] | None:
    """The most recently added return-shipping product version (None when there is none)."""
    query = select(products.c.code, products.c.version).order_by(products.c.created_at.desc(), products.c.code)
    row = connection.execute(query.limit(1)).first()
    return None if row is None else service.product_json(connection, row.code, row.version)
