"""A-share order rules and fees, on hand-computed cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from puhui.securities import models
from puhui.securities.errors import (
    CommissionRateInvalid,
    InstrumentInvalid,
    LotSizeInvalid,
    OrderTooLarge,
    PriceNotPositive,
    PriceOutsideBand,
    QuantityNotPositive,
)
from puhui.securities.models import Board, Exchange, Instrument, Side

DAY = dt.date(2026, 12, 4)
MAOTAI = Instrument("600519", Exchange.sse, Board.main, "贵州茅台", dt.date(2001, 8, 27))
CATL = Instrument("300750", Exchange.szse, Board.chinext, "宁德时代", dt.date(2018, 6, 11))
STAR = Instrument("688981", Exchange.sse, Board.star, "中芯国际", dt.date(2020, 7, 16))


def test_instrument_code_must_match_its_board():
    with pytest.raises(InstrumentInvalid):
        Instrument("300750", Exchange.sse, Board.main, "x", DAY)
    with pytest.raises(InstrumentInvalid):
        Instrument("60051", Exchange.sse, Board.main, "x", DAY)
    with pytest.raises(InstrumentInvalid):
        Instrument("688981", Exchange.szse, Board.star, "x", DAY)


@pytest.mark.parametrize(
    ("instrument", "close", "low", "high"),
    [
        (MAOTAI, 10_00, 9_00, 11_00),
        (MAOTAI, 9_99, 8_99, 10_99),  # 8.991 → 8.99, 10.989 → 10.99
        (CATL, 10_05, 8_04, 12_06),  # ±20%
        (STAR, 3_33, 2_66, 4_00),  # 2.664 → 2.66, 3.996 → 4.00
    ],
)
def test_price_band_is_previous_close_times_one_plus_minus_the_limit_rounded_to_the_tick(instrument, close, low, high):
    assert models.price_band(instrument, close, DAY, trading_day_number=100) == models.Band(low, high)


def test_st_band_on_the_main_board_widened_from_5_to_10_percent_on_2025_07_07():
    st = Instrument("600001", Exchange.sse, Board.main, "*ST", dt.date(1999, 1, 1), st=True)
    assert models.price_band(st, 3_33, dt.date(2025, 7, 4), 100) == models.Band(3_16, 3_50)  # 3.1635, 3.4965
    assert models.price_band(st, 3_33, dt.date(2025, 7, 7), 100) == models.Band(3_00, 3_66)  # 2.997, 3.663


def test_no_limit_in_the_first_five_trading_days_of_a_star_or_chinext_listing():
    new = Instrument("301999", Exchange.szse, Board.chinext, "新股", DAY)
    assert models.price_band(new, 20_00, DAY, trading_day_number=5) == models.Band(None, None)
    assert models.price_band(new, 20_00, DAY, trading_day_number=6) == models.Band(16_00, 24_00)
    old_main = Instrument("600000", Exchange.sse, Board.main, "浦发银行", dt.date(1999, 11, 10))
    assert models.price_band(old_main, 10_00, DAY, trading_day_number=1) == models.Band(9_00, 11_00)


def test_a_price_off_the_tick_or_outside_the_band_is_refused():
    band = models.Band(9_00, 11_00)
    models.check_price(11_00, band)
    with pytest.raises(PriceOutsideBand):
        models.check_price(11_01, band)
    with pytest.raises(PriceOutsideBand):
        models.check_price(8_99, band)
    with pytest.raises(PriceNotPositive):
        models.check_price(0, band)


def test_buys_come_in_lots_and_star_buys_are_at_least_200_then_any_whole_number():
    models.check_buy_quantity(Board.main, 300)
    with pytest.raises(LotSizeInvalid):
        models.check_buy_quantity(Board.main, 150)
    with pytest.raises(LotSizeInvalid):
        models.check_buy_quantity(Board.star, 199)
    models.check_buy_quantity(Board.star, 201)
    with pytest.raises(OrderTooLarge):
        models.check_buy_quantity(Board.star, 100_001)
    with pytest.raises(OrderTooLarge):
        models.check_buy_quantity(Board.chinext, 150_100, market=True)


def test_an_odd_lot_is_sold_whole_in_one_order():
    models.check_sell_quantity(Board.main, 150, holding=150)
    models.check_sell_quantity(Board.main, 100, holding=150)
    with pytest.raises(LotSizeInvalid):
        models.check_sell_quantity(Board.main, 50, holding=150)
    models.check_sell_quantity(Board.star, 120, holding=120)
    with pytest.raises(LotSizeInvalid):
        models.check_sell_quantity(Board.star, 120, holding=330)
    with pytest.raises(QuantityNotPositive):
        models.check_sell_quantity(Board.main, 0, holding=150)


def test_fees_on_a_small_buy_charge_the_5_cny_minimum_and_no_stamp_duty():
    fees = models.trade_fees(models.FeeSchedule(), Side.buy, 1_000 * 10_00)  # 1,000 shares at 10.00 = 10,000.00
    assert fees == models.Fees(commission=5_00, stamp_duty=0, transfer_fee=10)  # 2.50 → 5.00; 0.10
    assert fees.total == 5_10


def test_fees_on_a_sell_round_each_fee_half_up_to_the_fen():
    value = 10_000 * 25_37  # 10,000 shares at 25.37 = 253,700.00 CNY
    fees = models.trade_fees(models.FeeSchedule(), Side.sell, value)
    # commission 0.025% = 63.425 → 63.43; stamp duty 0.05% = 126.85; transfer 0.001% = 2.537 → 2.54
    assert fees == models.Fees(commission=63_43, stamp_duty=126_85, transfer_fee=2_54)
    handling, regulator = models.exchange_fees(models.FeeSchedule(), value)
    assert (handling, regulator) == (8_65, 5_07)  # 8.65117 → 8.65; 5.074 → 5.07


def test_commission_is_capped_at_three_per_mille():
    models.FeeSchedule(commission_rate=Decimal("0.003"))
    with pytest.raises(CommissionRateInvalid):
        models.FeeSchedule(commission_rate=Decimal("0.0031"))
    fees = models.trade_fees(models.FeeSchedule(commission_rate=Decimal("0.003")), Side.buy, 100_000_00)
    assert fees.commission == 300_00
