"""Robo-advice refusals (智能投顾), each with a stable code."""

from __future__ import annotations

from puhui.errors import Conflict, Forbidden, InvalidInput, NotFound


class AmountBelowMinimum(InvalidInput):
    code = "robo_amount_below_minimum"
    title = "The amount does not buy one lot (一手) of every ETF of the portfolio"


class RiskLevelMismatch(Forbidden):
    code = "robo_risk_level_mismatch"
    title = "The portfolio's risk is above the customer's assessed level (适当性不匹配)"


class NotSubscribed(NotFound):
    code = "robo_not_subscribed"
    title = "The customer has no robo-advice subscription"


class AlreadySubscribed(Conflict):
    code = "robo_already_subscribed"
    title = "The customer is subscribed already, with other terms"
