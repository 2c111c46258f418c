"""What the fund distribution API (基金代销) answers with: a product with its fees and latest NAV, its NAV
history, an order, a holding, a NAV file's load and an end-of-day run. Amounts are decimal strings with two
places; units have two places; a NAV (基金净值) has four."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from puhui.api.fields import Day, Money, Schema, Timestamp

UNITS_PATTERN = r"^[0-9]+\.[0-9]{2}$"
NAV_PATTERN = r"^[0-9]+\.[0-9]{4}$"
PLAIN_DECIMAL = r"^[0-9]+(\.[0-9]+)?$"

Units = Field(pattern=UNITS_PATTERN, examples=["1000.00"], description="fund units with two places (份额)")
Nav = Field(pattern=NAV_PATTERN, examples=["1.2345"], description="a net asset value per unit in CNY, four places")


def plain_decimal(value: object) -> object:
    """A decimal string written with plain digits ("0.0000001", never "1E-7"; "0", never "-0")."""
    if not isinstance(value, str):
        return value
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal") from None
    return format(abs(number) if number.is_zero() else number, "f")


Rate = Annotated[
    str,
    BeforeValidator(plain_decimal),
    Field(
        pattern=PLAIN_DECIMAL,
        examples=["0.015"],
        description='a rate from 0 to below 1 as a decimal fraction in plain digits, e.g. "0.015"',
    ),
]


class FundFeeTier(Schema):
    """A front-end fee tier (申购费率档): from `min_amount` up, a rate, or a fixed fee when `fixed` is set."""

    min_amount: Money
    rate: Rate
    fixed: Money | None


class FundRedemptionFee(Schema):
    """A redemption fee step (赎回费率) by holding period: under `under_days` days (none: any longer period),
    with the fund's share of the fee (归入基金资产比例)."""

    under_days: int | None
    rate: Rate
    to_fund_share: Rate


class FundProduct(Schema):
    """A distributed fund (代销基金) with its risk level (产品风险等级), fees and latest NAV (none before the first)."""

    code: str
    name: str
    kind: Literal["non_money_market"]
    risk: Literal["R1", "R2", "R3", "R4", "R5"]
    status: Literal["open", "closed"]
    units_ledger: str
    redemption_days: int = Field(description="trading days from the trade date to the cash (T+N)")
    fee_tiers: list[FundFeeTier]
    redemption_fees: list[FundRedemptionFee]
    nav: str | None = Nav
    nav_date: Day | None


class FundNav(Schema):
    """One day's net asset value (基金净值)."""

    date: Day
    nav: str = Nav


class FundOrder(Schema):
    """A purchase (申购) or redemption (赎回): priced at the trade date's NAV on confirmation; a redemption's
    `amount` is its net cash once confirmed, and its fee's part kept by the fund is `fee_to_fund`."""

    id: str
    fund_code: str
    kind: Literal["purchase", "redeem"]
    amount: Money
    units: str = Units
    fee: Money
    fee_to_fund: Money
    nav: str | None = Nav
    status: Literal["pending", "confirmed", "settled"]
    trade_date: Day
    confirm_date: Day
    cash_date: Day | None
    created_at: Timestamp


class FundHolding(Schema):
    """A fund the customer holds or has orders pending in (持仓), valued at the latest NAV (市值)."""

    fund_code: str
    name: str
    units: str = Units
    nav: str | None = Nav
    nav_date: Day | None
    market_value: Money | None
    pending_purchases: Money
    pending_redemption_units: str = Units


class NavLoad(Schema):
    """A NAV file loaded: the rows recorded and those already on record with the same NAV."""

    recorded: int
    unchanged: int


class FundsDay(Schema):
    """One business day of the distributed funds' end of day (日终): orders confirmed, redemptions paid,
    orders still waiting for their trade date's NAV, and whether the day had already run."""

    business_date: Day
    purchases_confirmed: int
    redemptions_confirmed: int
    redemptions_settled: int
    waiting_for_nav: int
    already_done: bool


class FundsEodRun(FundsDay):
    """The day asked for, after the skipped days run first (`caught_up`, in date order)."""

    caught_up: list[FundsDay]
