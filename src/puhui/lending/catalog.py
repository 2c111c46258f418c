"""The loan products as stored (产品目录): a product version is read here by every part of lending.

A product is reached through one channel (渠道):

- `direct`: a customer applies for it (`POST /v1/lending/applications`, `service.apply`), is made an
  offer and accepts it: a cash loan (现金贷) paid into the wallet.
- `credit_line`: it is only drawn through a credit line (用信), at checkout (先享后付, `POST
  /v1/lending/checkout/{qr_id}`) or by a draw (`POST /v1/lending/lines/{line_id}/draws`), whose plan
  carries the price (the instalment fee, 分期手续费): the product itself is interest-free, so applied for
  directly it would be a free cash loan beside the line. These are the line's own products, `LINE_PRODUCTS`,
  and a direct application, offer or acceptance of one is refused (`product_not_for_direct_application`).

The channel is a rule of the product's code, not of its stored terms, so rows stored before it was
written down obey it as well.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from sqlalchemy import Connection, select

from puhui.lending.errors import ProductNotForDirectApplication, ProductNotFound
from puhui.lending.products import Product, product_from_json
from puhui.lending.tables import lending_products


class Channel(enum.StrEnum):
    direct = "direct"  # applied for, offered, accepted: a cash loan
    credit_line = "credit_line"  # drawn only through a credit line: checkout or a draw


PAY_LATER_PRODUCT: dict[str, Any] = {
    "code": "line-pay-later",
    "name": "先享后付 免息",
    "min_amount": "0.01",
    "max_amount": "200000.00",
    "min_term": 1,
    "max_term": 1,
    "method": "bullet",
    "annual_rate": "0",
    "grace_days": 3,
    "penalty_annual_rate": "0.18",
}
INSTALMENT_PRODUCT: dict[str, Any] = {
    "code": "line-instalments",
    "name": "先享后付 分期",
    "min_amount": "0.01",
    "max_amount": "200000.00",
    "min_term": 3,
    "max_term": 12,
    "method": "equal_principal",
    "annual_rate": "0",
    "grace_days": 3,
    "penalty_annual_rate": "0.18",
}
LINE_PRODUCTS: dict[str, dict[str, Any]] = {p["code"]: p for p in (PAY_LATER_PRODUCT, INSTALMENT_PRODUCT)}
"""The products a credit line draws on (pay later, instalments), by code: the `credit_line` channel."""


def channel_of(code: str) -> Channel:
    return Channel.credit_line if code in LINE_PRODUCTS else Channel.direct


def get_product(connection: Connection, code: str) -> Product:
    row = connection.execute(select(lending_products).where(lending_products.c.code == code)).mappings().first()
    if row is None or row["status"] != "active":
        raise ProductNotFound(f"loan product {code!r} not found")
    return product_from_json(json.loads(row["data"]))


def check_direct(code: str) -> None:
    """Refuse a direct application (or an offer, an acceptance) of a product drawn only through a credit line
    (422 `product_not_for_direct_application`), before anything is read or written."""
    if channel_of(code) is Channel.credit_line:
        raise ProductNotForDirectApplication(
            f"loan product {code!r} is not applied for directly: it is drawn only through a credit line, at "
            "checkout (POST /v1/lending/checkout/{qr_id}) or by a draw on the line (POST "
            "/v1/lending/lines/{line_id}/draws), where its plan and fees are disclosed; to borrow cash, apply "
            "for a product whose channel is direct (GET /v1/lending/products)",
            product_code=code,
            channel=Channel.credit_line.value,
        )


def get_direct_product(connection: Connection, code: str) -> Product:
    """The product of a direct application (`channel` direct); a line's product is refused first."""
    check_direct(code)
    return get_product(connection, code)
