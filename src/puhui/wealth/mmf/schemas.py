"""What the money-market fund API (余额宝-style) answers with: funds, their daily figures (万份收益,
七日年化), orders, holdings and a payment made from the fund. Amounts and units are decimal strings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema, Timestamp
from puhui.payments.schemas import HeldPayment, Payment

Units = Field(pattern=r"^[0-9]+\.[0-9]{2}$", description="fund units with two places (份额)")
SignedUnits = Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", description="fund units with two places, negative when they left")
PerTenThousand = Field(
    pattern=r"^[0-9]+\.[0-9]{4}$", examples=["0.6512"], description="income per 10,000 units in CNY, four places"
)
SevenDayYield = Field(
    pattern=r"^[0-9]+\.[0-9]{3}$", examples=["2.412"], description="7-day annualised yield in percent, three places"
)


class MmfFund(Schema):
    """A money-market fund (货币基金) on the platform: NAV always 1.00, units on a ledger of their own."""

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
    income_per_10k: str = PerTenThousand
    seven_day_yield: str | None = SevenDayYield
    distributed: bool


class MmfFundDetail(MmfFund):
    """A money-market fund with its latest 万份收益 and 七日年化 (none before the first figures)."""

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
    """A customer's holding (持仓) of a money-market fund: units, value, income (收益) and orders in flight."""

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


class StatementLine(Schema):
    """One movement of the holding: units confirmed (份额确认), income carried over (收益结转) or redeemed (赎回)."""

    date: Day
    kind: Literal["subscription_confirmed", "income", "redemption"]
    units: str = SignedUnits
    balance: str = Units
    transfer_id: str


class Statement(Schema):
    """A holding statement (对账单) for a period of China dates: opening and closing units, income, movements."""

    fund_code: str
    customer_id: str
    from_: Day = Field(alias="from")
    to: Day
    opening_units: str = Units
    closing_units: str = Units
    income: Money
    lines: list[StatementLine]


class FiguresLoad(Schema):
    """The fund manager's 万份收益 file loaded: how many rows (all of them, or none and a problem)."""

    loaded: int


class FundDay(Schema):
    """One fund-day of the end of day (日终): its 万份收益 and 七日年化, subscriptions confirmed (份额确认),
    income distributed (收益分配: to holders, paid in units; the rounding residue stays with the fund),
    redemptions settled, and whether it had already run."""

    fund_code: str
    business_date: Day
    income_per_10k: str = PerTenThousand
    seven_day_yield: str | None = SevenDayYield
    confirmed: int
    settled: int
    holders: int
    units: str = Units
    paid_holders: int
    paid: str = Units
    distributed: str = Units
    residue: str = Units
    already_done: bool


class MmfEodRun(Schema):
    """Every fund-day run, skipped days first, in date order."""

    runs: list[FundDay]
