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
written down obey it as well. So are the terms of the line's own products: they are this module's
(`LINE_PRODUCTS`), with their plans (`instalment_plans`: the periods and the fee rate of each period,
分期手续费率), and a copy stored before the plans were written down is read, listed and drawn on with
the terms here, never with its own. The listing (`GET /v1/lending/products`), the plan quotes (`GET
/v1/lending/plans`) and a draw or checkout all read the fees from here, so what is listed is what is charged.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from sqlalchemy import Connection, select

from puhui.lending.errors import ProductNotForDirectApplication, ProductNotFound, UnknownPlan
from puhui.lending.products import InstalmentPlan, Product, product_from_json, product_to_json
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
    # interest-free until the statement's repayment day (免息期): one period, no fee
    "instalment_plans": [{"periods": 1, "fee_rate_per_period": "0"}],
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
    # 分期手续费 a period, of the amount: 2.28%, 4.5% and 7.5% over the plan
    "instalment_plans": [
        {"periods": 3, "fee_rate_per_period": "0.0076"},
        {"periods": 6, "fee_rate_per_period": "0.0075"},
        {"periods": 12, "fee_rate_per_period": "0.00625"},
    ],
}
LINE_PRODUCTS: dict[str, dict[str, Any]] = {p["code"]: p for p in (PAY_LATER_PRODUCT, INSTALMENT_PRODUCT)}
"""The products a credit line draws on (pay later, instalments), by code: the `credit_line` channel."""


PLAN_PRODUCTS: dict[str, str] = {"pay_later": PAY_LATER_PRODUCT["code"], "instalments": INSTALMENT_PRODUCT["code"]}
"""The plans a purchase or a draw is taken in (`plan` at checkout, on a draw, in `GET /v1/lending/plans`), each
the credit line's product whose `instalment_plans` price it: pay later (先享后付, interest-free) and instalments
(分期, a fee each period)."""


def channel_of(code: str) -> Channel:
    return Channel.credit_line if code in LINE_PRODUCTS else Channel.direct


def line_product(code: str) -> Product:
    """A credit line's own product with its terms as written here (the terms every part of lending uses)."""
    return product_from_json(LINE_PRODUCTS[code])


def terms_of(code: str, stored: str) -> dict[str, Any]:
    """A product's terms as JSON: a line product's are this module's, whatever copy was stored (one stored
    before its plans were written down says nothing of its fees); any other product's are its stored ones."""
    return product_to_json(line_product(code)) if code in LINE_PRODUCTS else json.loads(stored)


def plan_names() -> str:
    """The plans offered, by name with their periods, for a refusal: "pay_later (1 period) or instalments (3, 6
    or 12 periods)"."""
    named = []
    for plan, code in PLAN_PRODUCTS.items():
        periods = [str(p.periods) for p in line_product(code).instalment_plans]
        listed = ", ".join(periods[:-1]) + f" or {periods[-1]}" if len(periods) > 1 else periods[0]
        named.append(f"{plan} ({listed} period{'' if periods == ['1'] else 's'})")
    return " or ".join(named)


def plans_offered() -> list[dict[str, Any]]:
    """The plans offered, as a refusal's extension names them: `[{"plan": "pay_later", "periods": [1]}, ...]`."""
    return [
        {"plan": plan, "periods": [p.periods for p in line_product(code).instalment_plans]}
        for plan, code in PLAN_PRODUCTS.items()
    ]


def choose_plan(plan: str, periods: int | None) -> tuple[Product, InstalmentPlan]:
    """The line product and the plan of a checkout or a draw: `plan` by name, `periods` one of its plans' (left
    out for a plan of one choice, as pay later). Anything else is refused (422 `unknown_instalment_plan`) with
    what was wrong (the plan's name, or its periods) and the plans offered."""
    offered = plans_offered()
    if not isinstance(plan, str) or plan not in PLAN_PRODUCTS:
        raise UnknownPlan(
            f"there is no plan named {plan!r}: the plans offered are {plan_names()}",
            field="plan",
            plan=plan if isinstance(plan, str) else None,
            plans=offered,
        )
    product = line_product(PLAN_PRODUCTS[plan])
    choices = {p.periods: p for p in product.instalment_plans}
    if periods is None and len(choices) == 1:
        return product, next(iter(choices.values()))
    if isinstance(periods, int) and not isinstance(periods, bool) and periods in choices:
        return product, choices[periods]
    listed = ", ".join(map(str, sorted(choices)))
    if periods is None:
        detail = f"the plan {plan} needs `periods`: one of {listed}"
    elif len(choices) == 1:
        detail = (
            f"the plan {plan} is taken in {listed} period only, not {periods}: leave `periods` out, or choose "
            f"another of the plans offered: {plan_names()}"
        )
    else:
        detail = f"the plan {plan} is offered in {listed} periods, not {periods}"
    raise UnknownPlan(detail, field="periods", plan=plan, periods=periods, plans=offered)


def get_product(connection: Connection, code: str) -> Product:
    row = connection.execute(select(lending_products).where(lending_products.c.code == code)).mappings().first()
    if row is None or row["status"] != "active":
        raise ProductNotFound(f"loan product {code!r} not found")
    return product_from_json(terms_of(code, row["data"]))


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
