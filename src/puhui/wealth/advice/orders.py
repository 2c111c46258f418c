"""Acting on advice (智能投顾执行): the robo-advisor's target portfolio becomes real fund orders.

- `invest`: new money from the wallet is split over the target weights (rounded down to the fen,
  the remainder to the largest weight) and each part is a fund purchase, with its front-end fee.
- `rebalance`: when the holdings' drift from the target passes the threshold, `advisor.rebalance_orders`
  says what to sell and buy; sells become redemptions (units at the latest NAV, rounded down), and
  buys become purchases paid from the wallet — their money arrives from the sells only T+N later,
  so the buys are placed now only when the wallet covers them, otherwise they are returned as
  pending for the customer to place when the redemption cash is in.

Every order goes through `fund_orders` (suitability, open fund, fees, the reserve), in the caller's
unit of work, with client ids derived from the call's own id so a replay places nothing twice.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from sqlalchemy import Connection

from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.ledger.service import get_account
from puhui.money import format_minor
from puhui.wealth.advice import advisor
from puhui.wealth.advice.advisor import TargetPortfolio
from puhui.wealth.funds import orders as fund_orders


def split(amount: int, weights: dict[str, float]) -> dict[str, int]:
    """`amount` fen over the weights as the customer was shown them (six places: the solver's 0.3499999993
    is the 0.35 shown), each part rounded down, the remainder to the largest weight."""
    if amount <= 0:
        raise InvalidInput("the amount to invest must be greater than zero")
    shown = {code: Decimal(str(round(w, advisor.WEIGHT_PLACES))) for code, w in weights.items()}
    parts = {code: int((Decimal(amount) * w).to_integral_value(ROUND_DOWN)) for code, w in shown.items() if w > 0}
    largest = max(parts, key=lambda c: (weights[c], c))
    parts[largest] += amount - sum(parts.values())
    return {code: part for code, part in parts.items() if part > 0}


def invest(uow: UnitOfWork, customer_id: str, amount: int, target: TargetPortfolio, client_id: str) -> list[dict]:
    """Buy the target portfolio with `amount` fen from the wallet: one purchase per fund."""
    return [
        fund_orders.purchase(uow, customer_id, code, part, f"{client_id}.{code}")[0]
        for code, part in sorted(split(amount, target.weights).items())
    ]


def holdings_values(connection: Connection, customer_id: str) -> dict[str, int]:
    """Market value (fen) of each fund held, at its latest NAV."""
    values = {}
    for row in fund_orders.holdings_of(connection, customer_id):
        if row["market_value"] is not None:
            values[row["fund_code"]] = int(Decimal(row["market_value"]).scaleb(2))
    return values


def _wallet(connection: Connection, customer_id: str) -> int:
    account = get_account(connection, f"wallet.{customer_id}")
    return 0 if account is None else account.credits_posted - account.debits_posted - account.debits_pending


def rebalance(uow: UnitOfWork, customer_id: str, target: TargetPortfolio, threshold: float, client_id: str) -> dict:
    """Sell what is over the target now; buy what is under it from the wallet when it can pay."""
    values = holdings_values(uow.connection, customer_id)
    orders = advisor.rebalance_orders(values, target.weights, threshold)
    placed, pending = [], []
    buys = [o for o in orders if o.side == "buy"]
    can_buy = sum(o.amount for o in buys) <= _wallet(uow.connection, customer_id)
    for order in orders:
        key = f"{client_id}.{order.side}.{order.fund_code}"
        if order.side == "sell":
            nav = fund_orders.latest_nav(uow.connection, order.fund_code)
            assert nav is not None  # a fund over its target has a market value: it has a NAV
            units = int((Decimal(order.amount) / fund_orders.nav_decimal(nav[1])).to_integral_value(ROUND_DOWN))
            held = fund_orders.units_held(uow.connection, order.fund_code, customer_id)
            if min(units, held) > 0:
                placed.append(fund_orders.redeem(uow, customer_id, order.fund_code, min(units, held), key)[0])
        elif can_buy:
            placed.append(fund_orders.purchase(uow, customer_id, order.fund_code, order.amount, key)[0])
        else:
            pending.append({"fund_code": order.fund_code, "side": "buy", "amount": format_minor(order.amount, 2)})
    return {
        "drift": str(advisor.drift(values, target.weights)) if values else "0",
        "threshold": threshold,
        "orders": [fund_orders.order_json(o) for o in placed],
        "buys_waiting_for_cash": pending,
    }
