"""Wealth errors, each with a stable machine code (RFC 9457 problems through the API)."""

from __future__ import annotations

from puhui.errors import Conflict, Forbidden, InvalidInput, NotFound


class UnknownFund(NotFound):
    code = "fund_not_found"
    title = "No such fund"


class FundClosed(Conflict):
    code = "fund_closed"
    title = "The fund takes no orders"


class WalletClassTooLow(Forbidden):
    """Only Class III wallets (Ⅲ类户) may buy investment products."""

    code = "wallet_class_too_low"
    title = "Only Class III wallets may buy investment products"


class InsufficientUnits(Conflict):
    code = "insufficient_units"
    title = "The holding does not have that many units"


class FastRedemptionCapExceeded(Conflict):
    code = "fast_redemption_cap_exceeded"
    title = "Fast (T+0) redemption is capped at 10,000 CNY per customer per day"


class InvalidFigures(InvalidInput):
    code = "invalid_fund_figures"
    title = "The fund manager's figures are not acceptable"


class OrderConflict(Conflict):
    code = "order_id_reused"
    title = "This client order id was already used for a different order"
