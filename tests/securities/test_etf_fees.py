"""ETFs as instruments: prices in 厘, the ±10% band, the tick, and their fees to the fen, by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from puhui.securities import models
from puhui.securities.errors import InstrumentInvalid, PriceNotPositive, PriceOutsideBand
from puhui.securities.models import Board, Exchange, Instrument, Side

HS300 = Instrument("510300", Exchange.sse, Board.etf, "沪深300ETF", dt.date(2012, 5, 28))
CYB = Instrument("159915", Exchange.szse, Board.etf, "创业板ETF", dt.date(2011, 12, 9))
SCHEDULE = models.FeeSchedule()


def test_an_etf_is_priced_in_li_and_told_by_its_code():
    assert HS300.price_scale == 1000 and CYB.price_scale == 1000
    assert models.is_etf("510300") and models.is_etf("159915") and not models.is_etf("600000")
    assert models.format_price("510300", 3_901) == "3.901"
    assert models.format_price("600000", 1_050) == "10.50"
    with pytest.raises(InstrumentInvalid):
        Instrument("600000", Exchange.sse, Board.etf, "x", dt.date(2020, 1, 1))


def test_the_band_is_ten_percent_or_twenty_on_a_growth_board_index_from_the_first_day_in_li():
    day = dt.date(2026, 12, 4)
    assert models.price_band(HS300, 3_900, day, 1) == models.Band(3_510, 4_290)
    assert models.price_band(CYB, 2_105, day, 1) == models.Band(1_684, 2_526)  # 创业板ETF: ±20%
    band = models.price_band(HS300, 3_900, day, 10)
    models.check_price(4_290, band, 1000)
    with pytest.raises(PriceOutsideBand, match="4.291 is outside the band 3.510–4.290"):
        models.check_price(4_291, band, 1000)
    with pytest.raises(PriceNotPositive):
        models.check_price(0, band, 1000)


def test_a_trade_value_rounds_the_li_half_up_to_the_fen():
    assert models.trade_value("510300", 3_901, 10_000) == 3_901_000  # 39,010.00 CNY
    assert models.trade_value("510300", 3_901, 33) == 12_873  # 128.733 CNY
    assert models.trade_value("510300", 3_901, 5) == 1_951  # 19.505 CNY
    assert models.trade_value("600000", 1_050, 100) == 105_000  # shares stay in fen


def test_etf_fees_have_no_stamp_duty_nor_transfer_fee_and_keep_the_commission_minimum():
    value = 3_901_000  # 39,010.00 CNY
    # commission 0.025% = 975.25 fen → 9.75 CNY, the same both sides
    assert models.trade_fees(SCHEDULE, Side.buy, value, etf=True) == models.Fees(975, 0, 0)
    assert models.trade_fees(SCHEDULE, Side.sell, value, etf=True) == models.Fees(975, 0, 0)
    # a share sold for the same value pays 19.51 stamp duty (19.505 half-up) and 0.39 transfer fee
    assert models.trade_fees(SCHEDULE, Side.sell, value) == models.Fees(975, 1_951, 39)
    # a small ETF buy pays the 5 CNY minimum; a schedule waiving it (some brokers do for ETFs) pays 0.25%
    assert models.trade_fees(SCHEDULE, Side.buy, 390_000, etf=True).total == 500
    waived = models.FeeSchedule(commission_minimum=0)
    assert models.trade_fees(waived, Side.buy, 390_000, etf=True).total == 98  # 97.5 half-up


def test_the_exchange_fees_are_data_and_come_out_of_the_commission():
    value = 3_901_000
    # ETF handling fee 0.004% = 156.04 → 1.56 CNY; 证管费 0.002% = 78.02 → 0.78 CNY
    assert models.exchange_fees(SCHEDULE, value, etf=True) == (156, 78)
    # a share's handling fee 0.00341% = 133.0241 → 1.33 CNY
    assert models.exchange_fees(SCHEDULE, value) == (133, 78)
    handling, regulator = models.exchange_fees(SCHEDULE, value, etf=True)
    assert handling + regulator <= models.trade_fees(SCHEDULE, Side.buy, value, etf=True).commission
    assert SCHEDULE.etf_handling_fee_rate == Decimal("0.00004")
