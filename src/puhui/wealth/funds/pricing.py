"""Pricing of fund orders (基金申购与赎回) for non-money-market funds, as pure functions.

- Unknown-price rule (未知价法): an order is priced at the NAV of its trading day T, which is
  `calendar.trade_date` (before 15:00 China time on a trading day: that day; otherwise the next
  one). Units are confirmed T+1; redemption cash arrives T+N (per product).
- Subscription with a front-end fee (前端申购费, 外扣法): net = amount / (1 + rate), fee = amount − net,
  units = net / NAV. The rate tier is chosen by the amount; the top tier may be a fixed fee per order.
  Fen are rounded half-up, units rounded down to 0.01 (the remainder of the money is not lost: it
  stays in the fee-free part of `net`, which is what buys the units).
- Redemption fee by holding period (赎回费): the fee schedule is the product's; whatever it says,
  a holding of fewer than 7 days pays at least 1.5%, all of it into the fund's assets (the CSRC rule
  on open-end fund liquidity). Longer holdings put at least the schedule's `to_fund_share` into
  the fund's assets; the rest is the distributor's income.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from puhui.money import format_minor
from puhui.wealth import calendar
from puhui.wealth.errors import InvalidFundOrder, ShortHoldingFeeInvalid

UNIT = Decimal("0.01")
FEN = Decimal("0.01")
SHORT_HOLDING_DAYS = 7
SHORT_HOLDING_MIN_RATE = Decimal("0.015")


@dataclass(frozen=True)
class FeeTier:
    """From `min_amount` (fen) on: a `rate`, or a `fixed` fee in fen per order."""

    min_amount: int
    rate: Decimal = Decimal("0")
    fixed: int | None = None


@dataclass(frozen=True)
class RedemptionFeeStep:
    """Holdings of fewer than `under_days` days (None: any longer holding) pay `rate`;
    `to_fund_share` of the fee goes into the fund's assets."""

    under_days: int | None
    rate: Decimal
    to_fund_share: Decimal = Decimal("0.25")


@dataclass(frozen=True)
class Subscription:
    amount: int  # fen paid
    fee: int  # fen
    net: int  # fen that buy units
    units: Decimal  # 0.01 units
    nav: Decimal


@dataclass(frozen=True)
class Redemption:
    units: Decimal
    nav: Decimal
    gross: int  # fen
    fee: int
    fee_to_fund: int
    fee_to_distributor: int
    net: int  # fen paid to the holder


def _fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _check_nav(nav: Decimal) -> Decimal:
    if not isinstance(nav, Decimal) or not nav.is_finite() or nav <= 0:
        raise InvalidFundOrder("the NAV must be a positive decimal")
    return nav


def fee_tier(amount: int, tiers: Sequence[FeeTier]) -> FeeTier:
    chosen = [t for t in tiers if amount >= t.min_amount]
    if not chosen:
        least = format_minor(min(t.min_amount for t in tiers) if tiers else 0, 2)
        raise InvalidFundOrder(f"the amount is below the smallest subscription, {least} CNY", minimum=least)
    return max(chosen, key=lambda t: t.min_amount)


def subscribe(amount: int, tiers: Sequence[FeeTier], nav: Decimal) -> Subscription:
    """Units bought by `amount` fen at `nav` after the front-end fee."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidFundOrder("the amount must be a positive number of fen")
    nav = _check_nav(nav)
    tier = fee_tier(amount, tiers)
    if tier.fixed is not None:
        fee = min(tier.fixed, amount)
    else:
        fee = amount - _fen(Decimal(amount) / (1 + tier.rate))
    net = amount - fee
    units = (Decimal(net) * FEN / nav).quantize(UNIT, rounding=ROUND_DOWN)
    return Subscription(amount, fee, net, units, nav)


def redemption_rate(holding_days: int, schedule: Sequence[RedemptionFeeStep]) -> RedemptionFeeStep:
    """The schedule's step for this holding, with the 7-day floor of 1.5%, all to the fund."""
    for step in sorted(schedule, key=lambda s: (s.under_days is None, s.under_days or 0)):
        if step.under_days is None or holding_days < step.under_days:
            break
    else:
        step = RedemptionFeeStep(None, Decimal("0"), Decimal("0"))
    if holding_days < SHORT_HOLDING_DAYS:
        return RedemptionFeeStep(SHORT_HOLDING_DAYS, max(step.rate, SHORT_HOLDING_MIN_RATE), Decimal("1"))
    return step


def check_schedule(schedule: Sequence[RedemptionFeeStep]) -> None:
    """A schedule states its short holdings as they are charged (`redemption_rate`): a band lying wholly under
    `SHORT_HOLDING_DAYS` days (its `under_days` at most 7) charges at least 1.5% and gives the fund all of it
    (`to_fund_share` 1), else 422 `short_holding_fee_invalid`. A band reaching past 7 days (e.g. "under 365
    days") is taken: the rule charges its holdings under 7 days, as for a schedule with no band for them."""
    for step in schedule:
        if step.under_days is None or step.under_days > SHORT_HOLDING_DAYS:
            continue
        if step.to_fund_share != 1 or step.rate < SHORT_HOLDING_MIN_RATE:
            raise ShortHoldingFeeInvalid(
                f"the band under {step.under_days} days (rate {step.rate}, to_fund_share {step.to_fund_share}): a "
                f"holding under {SHORT_HOLDING_DAYS} days pays at least {SHORT_HOLDING_MIN_RATE}, all of it to the "
                'fund (CSRC): state it with a rate of at least 0.015 and "to_fund_share": "1"',
                field="redemption_fees",
            )


def redeem(units: Decimal, nav: Decimal, holding_days: int, schedule: Sequence[RedemptionFeeStep]) -> Redemption:
    """Cash for `units` at `nav`, less the redemption fee for the holding period."""
    if not isinstance(units, Decimal) or units <= 0 or units != units.quantize(UNIT):
        raise InvalidFundOrder("units must be positive, in hundredths")
    if holding_days < 0:
        raise InvalidFundOrder("the holding period cannot be negative")
    nav = _check_nav(nav)
    step = redemption_rate(holding_days, schedule)
    gross = _fen(units * nav / FEN)
    fee = _fen(Decimal(gross) * step.rate)
    to_fund = _fen(Decimal(fee) * step.to_fund_share)
    return Redemption(units, nav, gross, fee, to_fund, fee - to_fund, gross - fee)


@dataclass(frozen=True)
class OrderDates:
    trade_date: dt.date  # T: the NAV that prices the order
    confirm_date: dt.date  # T+1: units confirmed (份额确认)
    cash_date: dt.date | None  # redemptions: T+N, cash to the wallet


def order_dates(
    at_micros: int, *, redemption_days: int | None = None, holidays: frozenset[dt.date] = calendar.HOLIDAYS
) -> OrderDates:
    """The dates of an order placed at `at_micros` (UTC µs), by the unknown-price rule."""
    t = calendar.trade_date(at_micros, holidays)
    cash = calendar.add_trading_days(t, redemption_days, holidays) if redemption_days is not None else None
    return OrderDates(t, calendar.add_trading_days(t, 1, holidays), cash)
