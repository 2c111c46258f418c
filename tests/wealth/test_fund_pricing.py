"""Fund order pricing by hand-worked examples: front-end fees by tier, units by the NAV, the
holding-period redemption fee with its 7-day floor, and the trade / confirmation / cash dates of
the unknown-price rule across the cut-off, weekends and holidays."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui import clock
from puhui.wealth.errors import InvalidFundOrder
from puhui.wealth.funds.pricing import FeeTier, RedemptionFeeStep, order_dates, redeem, subscribe

TIERS = (FeeTier(1_00, Decimal("0.015")), FeeTier(100_000_00, Decimal("0.012")), FeeTier(5_000_000_00, fixed=1_000_00))
SCHEDULE = (
    RedemptionFeeStep(365, Decimal("0.005")),
    RedemptionFeeStep(730, Decimal("0.0025")),
    RedemptionFeeStep(None, Decimal("0")),
)


def test_subscription_by_hand():
    # 10,000.00 at 1.5%: net = 1,000,000 / 1.015 = 985,221.67 -> 985,222 fen; fee 14,778 fen
    # units = 9,852.22 / 1.2345 = 7,980.737... -> 7,980.73 (rounded down)
    bought = subscribe(1_000_000, TIERS, Decimal("1.2345"))
    assert (bought.net, bought.fee, bought.units) == (985_222, 14_778, Decimal("7980.73"))
    # 200,000.00 falls in the 1.2% tier: 20,000,000 / 1.012 = 19,762,845.85 -> 19,762,846 fen
    assert subscribe(20_000_000, TIERS, Decimal("1")).net == 19_762_846
    # 6,000,000.00 pays the fixed 1,000.00 per order
    big = subscribe(600_000_000, TIERS, Decimal("2.0000"))
    assert (big.fee, big.units) == (1_000_00, Decimal("2999500.00"))


def test_redemption_fee_by_holding_period():
    # held 3 days: the schedule says 0.5%, the 7-day rule makes it 1.5%, all into the fund
    short = redeem(Decimal("1000.00"), Decimal("1.5000"), 3, SCHEDULE)
    assert (short.gross, short.fee, short.fee_to_fund, short.net) == (1_500_00, 22_50, 22_50, 1_477_50)
    # held 100 days: 0.5% = 7.50, a quarter (1.875 -> 1.88) to the fund, 5.62 to the distributor
    mid = redeem(Decimal("1000.00"), Decimal("1.5000"), 100, SCHEDULE)
    assert (mid.fee, mid.fee_to_fund, mid.fee_to_distributor, mid.net) == (7_50, 1_88, 5_62, 1_492_50)
    # held 800 days: no fee
    assert redeem(Decimal("1000.00"), Decimal("1.5000"), 800, SCHEDULE).fee == 0


@pytest.mark.parametrize(
    ("placed", "trade", "confirm", "cash"),
    [
        ("2026-11-27 14:59", "2026-11-27", "2026-11-30", "2026-12-02"),  # Friday before the cut-off
        ("2026-11-27 15:00", "2026-11-30", "2026-12-01", "2026-12-03"),  # Friday at the cut-off: Monday
        ("2026-11-28 10:00", "2026-11-30", "2026-12-01", "2026-12-03"),  # Saturday
        ("2026-09-30 16:00", "2026-10-08", "2026-10-09", "2026-10-13"),  # into the National Day holiday
        ("2026-12-31 09:00", "2026-12-31", "2027-01-04", "2027-01-06"),  # New Year
    ],
)
def test_order_dates_follow_the_unknown_price_rule(placed, trade, confirm, cash):
    at = dt.datetime.fromisoformat(placed).replace(tzinfo=clock.CHINA)
    dates = order_dates(clock.to_micros(at), redemption_days=3)
    assert (dates.trade_date.isoformat(), dates.confirm_date.isoformat(), dates.cash_date.isoformat()) == (
        trade,
        confirm,
        cash,
    )


@given(amount=st.integers(1_00, 10_000_000_00), nav=st.decimals("0.5", "5", places=4))
def test_fee_plus_net_is_the_amount_and_units_never_cost_more_than_net(amount, nav):
    bought = subscribe(amount, TIERS, nav)
    assert bought.fee + bought.net == amount and bought.fee >= 0
    assert bought.units * nav <= Decimal(bought.net) / 100 < (bought.units + Decimal("0.01")) * nav


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (subscribe, (0, TIERS, Decimal("1"))),
        (subscribe, (-5, TIERS, Decimal("1"))),
        (subscribe, (1_00, TIERS, Decimal("-1.2"))),
        (subscribe, (50, TIERS, Decimal("1"))),
        (redeem, (Decimal("0"), Decimal("1"), 10, SCHEDULE)),
        (redeem, (Decimal("1.001"), Decimal("1"), 10, SCHEDULE)),
        (redeem, (Decimal("1"), Decimal("0"), 10, SCHEDULE)),
        (redeem, (Decimal("1"), Decimal("1"), -1, SCHEDULE)),
    ],
)
def test_bad_orders_are_refused(call, args):
    with pytest.raises(InvalidFundOrder):
        call(*args)
