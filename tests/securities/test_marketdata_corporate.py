"""Bars from ticks, the historical bar file, and corporate actions on hand-computed cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from puhui.securities import corporate, marketdata
from puhui.securities.corporate import Distribution, Entitlement
from puhui.securities.errors import BarFileInvalid, CorporateActionInvalid
from puhui.securities.marketdata import Bar, Tick

DAY = dt.date(2026, 12, 3)


def t(clock: str, price: int, qty: int) -> Tick:
    return Tick(dt.datetime.combine(DAY, dt.time.fromisoformat(clock)), price, qty)


TICKS = [t("09:25:00", 10_00, 500), t("09:30:05", 10_02, 100), t("09:30:50", 9_98, 200), t("09:31:10", 10_01, 300)]


def test_one_minute_bars_open_high_low_close_volume_turnover():
    assert marketdata.bars(TICKS) == [
        Bar(dt.datetime(2026, 12, 3, 9, 25), 10_00, 10_00, 10_00, 10_00, 500, 500_000),
        Bar(dt.datetime(2026, 12, 3, 9, 30), 10_02, 10_02, 9_98, 9_98, 300, 100_200 + 199_600),
        Bar(dt.datetime(2026, 12, 3, 9, 31), 10_01, 10_01, 10_01, 10_01, 300, 300_300),
    ]
    five = marketdata.bars(TICKS, minutes=5)
    assert [(b.start.minute, b.volume) for b in five] == [(25, 500), (30, 600)]
    assert five[1].vwap == Decimal(100_200 + 199_600 + 300_300) / 600


def test_the_daily_bar_closes_at_the_exchange_close():
    bar = marketdata.daily_bar(TICKS, DAY, close=10_00)
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (10_00, 10_02, 9_98, 10_00, 1100)
    assert marketdata.daily_bar(TICKS, DAY + dt.timedelta(days=1)) is None


def test_a_bar_file_is_read_and_bad_rows_are_refused_with_their_line(tmp_path):
    good = tmp_path / "bars.csv"
    good.write_text(
        "date,open,high,low,close,volume\n2026-12-01,10.00,10.50,9.90,10.20,120000\n2026-12-02,10.20,10.30,10.00,10.10,90000\n"
    )
    rows = marketdata.read_bar_file(good)
    assert [(r.day, r.open, r.close, r.volume) for r in rows] == [
        (dt.date(2026, 12, 1), 10_00, 10_20, 120_000),
        (dt.date(2026, 12, 2), 10_20, 10_10, 90_000),
    ]
    for body in (
        "date,open,high,low,close,volume\n2026-12-01,10.001,10.50,9.90,10.20,1\n",
        "date,open,high,low,close,volume\n2026-12-01,10.00,9.50,9.90,10.20,1\n",
        "date,open,high,low,close,volume\n2026-12-02,10,11,9,10,1\n2026-12-01,10,11,9,10,1\n",
        "date,open,high,low,close\n2026-12-01,10,11,9,10\n",
        "date,open,high,low,close,volume\n2026-12-01,ten,11,9,10,1\n",
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(body)
        with pytest.raises(BarFileInvalid, match="line"):
            marketdata.read_bar_file(bad)


PLAN = Distribution("600000", dt.date(2026, 6, 10), dt.date(2026, 6, 11), cash_per_10=3_00, bonus_per_10=Decimal(2))


def test_the_ex_date_reference_price():
    # 10派3元送2股 on a 12.00 close: (12.00 − 0.30) ÷ 1.2 = 9.75
    assert corporate.ex_reference_price(12_00, PLAN) == 9_75
    # 10派0.35元 on 10.03: 10.03 − 0.035 = 9.995 → 10.00 (half-up)
    cash_only = Distribution("600000", dt.date(2026, 6, 10), dt.date(2026, 6, 11), cash_per_10=35)
    assert corporate.ex_reference_price(10_03, cash_only) == 10_00


def test_entitlements_round_cash_down_and_hand_out_fractional_shares_by_largest_fraction():
    plan = Distribution("600000", dt.date(2026, 6, 10), dt.date(2026, 6, 11), cash_per_10=35, bonus_per_10=Decimal("3"))
    # 0.3 per share: a 151 → 45.3, b 102 → 30.6, c 7 → 2.1, d 9 → 2.7; the fractions add up to 1.7:
    # one more whole share, to the largest fraction (d's 0.7)
    got = corporate.entitlements(plan, {"d": 9, "a": 151, "b": 102, "c": 7})
    assert got == [
        Entitlement("a", 528, 45),  # 151 × 3.5 fen = 528.5 → 528
        Entitlement("b", 357, 30),
        Entitlement("c", 24, 2),
        Entitlement("d", 31, 3),
    ]


def test_a_distribution_must_pay_something_after_its_record_date():
    with pytest.raises(CorporateActionInvalid):
        Distribution("600000", dt.date(2026, 6, 10), dt.date(2026, 6, 11))
    with pytest.raises(CorporateActionInvalid):
        Distribution("600000", dt.date(2026, 6, 10), dt.date(2026, 6, 10), cash_per_10=1)
    with pytest.raises(CorporateActionInvalid):
        corporate.ex_reference_price(
            1, Distribution("600000", dt.date(2026, 6, 10), dt.date(2026, 6, 11), cash_per_10=100)
        )


def test_equal_fractions_go_by_account_id_and_no_share_is_created_or_lost():
    plan = Distribution("600000", dt.date(2026, 6, 10), dt.date(2026, 6, 11), bonus_per_10=Decimal(1))
    got = corporate.entitlements(plan, {"y": 5, "x": 5, "z": 5})  # 0.5 each: 1.5 → one share, to x
    assert [(e.account, e.shares) for e in got] == [("x", 1), ("y", 0), ("z", 0)]
