"""What the money-market fund API (余额宝-style) answers with: funds, their daily figures (万份收益,
七日年化), orders, holdings and a payment made from the fund. Amounts and units are decimal strings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema, Timestamp
from puhui.payments.schemas import HeldPayment, Payment

Units = Field(pattern=r"^[0-9]+\.[0-9]{2}$", description="fund units with two places (份额)")


class MmfFund(Schema):
    code: str
    name: str
    kind: Literal["money_market"]
    nav: Literal["1.00"]
    status: Literal["open", "closed"]
    units_ledger: str


class DailyYield(Schema):
    """One business day's income per 10,000 units (万份收益, yuan, four places) and 7-day annualised
    yield in percent (七日年化)."""

    date: Day
    income_per_10k: str = Field(pattern=r"^[0-9]+\.[0-9]{4}$")
    seven_day_yield: str | None
    distributed: bool


class MmfFundDetail(MmfFund):
    latest: DailyYield | None


class MmfOrder(Schema):
    """A subscription (申购), redemption (赎回, T+1) or fast redemption (快速赎回, T+0)."""

    id: str
    fund_code: str
    kind: Literal["subscribe", "redeem", "fast_redeem"]
    amount: Money
    units: str = Units
    status: Literal["pending", "confirmed", "settled"]
    trade_date: Day
    due_date: Day
    payment_id: str | None
    created_at: Timestamp


class Sweep(Schema):
    """The auto-sweep's subscription (自动转入), or none when the wallet holds no more than `keep`."""

    order: MmfOrder | None


class FundPayment(Schema):
    """A merchant paid from the fund: the fast redemption and the payment (or the held payment)."""

    order: MmfOrder
    payment: Payment | HeldPayment


class Holding(Schema):
    fund_code: str
    fund_name: str
    customer_id: str
    units: str = Units
    value: Money
    nav: Literal["1.00"]
    last_income: Money
    last_income_date: Day | None
    total_income: Money
    pending_subscriptions: Money
    pending_redemptions: Money
