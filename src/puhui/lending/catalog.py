"""The loan products as stored (产品目录): a product version is read here by every part of lending."""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from puhui.lending.errors import ProductNotFound
from puhui.lending.products import Product, product_from_json
from puhui.lending.tables import lending_products


def get_product(connection: Connection, code: str) -> Product:
    row = connection.execute(select(lending_products).where(lending_products.c.code == code)).mappings().first()
    if row is None or row["status"] != "active":
        raise ProductNotFound(f"loan product {code!r} not found")
    return product_from_json(json.loads(row["data"]))
