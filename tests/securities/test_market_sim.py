"""The simulated market: agents trade through the real exchange, bars add up, replays follow their bar."""

from __future__ import annotations

import datetime as dt

from puhui.securities.market_sim import MarketSimulation
from puhui.securities.marketdata import DailyRecord
from puhui.securities.models import Board, Exchange, Instrument

PUFA = Instrument("600000", Exchange.sse, Board.main, "浦发银行", dt.date(1999, 11, 10))
CATL = Instrument("300750", Exchange.szse, Board.chinext, "宁德时代", dt.date(2018, 6, 11))
LISTED = [(PUFA, 10_00), (CATL, 250_00)]
DAYS = [dt.date(2026, 12, 1), dt.date(2026, 12, 2), dt.date(2026, 12, 3)]


def run(seed: int, days=DAYS, replay=None):
    sim = MarketSimulation(LISTED, seed)
    return sim, [sim.run_day(day, replay) for day in days]


def test_agents_trade_every_day_within_the_band_and_the_bars_add_up():
    sim, results = run(seed=11)
    for day_results in results:
        for d in day_results:
            market_band = sim.exchange.market(d.instrument.code).band
            assert len(d.ticks) > 100
            assert all(market_band.contains(t.price) for t in d.ticks)
            assert sum(b.volume for b in d.minute_bars) == d.daily.volume
            assert d.daily.low <= d.close <= d.daily.high
            assert d.ticks[0].at.time() == dt.time(9, 25)  # the opening auction prints
    closes = [r[0].close for r in results]
    assert sim.exchange.market("600000").previous_close == closes[-2]  # day 3's band rests on day 2's close


def test_one_seed_one_market_and_no_trading_on_a_holiday():
    _, first = run(seed=5, days=DAYS[:1])
    _, again = run(seed=5, days=DAYS[:1])
    assert [t for d in first[0] for t in d.ticks] == [t for d in again[0] for t in d.ticks]
    assert MarketSimulation(LISTED, 5).run_day(dt.date(2026, 10, 1)) == []


def test_a_replayed_day_follows_its_historical_bar():
    record = DailyRecord(DAYS[0], 10_00, 10_40, 9_80, 10_30, 0)
    _, results = run(seed=3, days=DAYS[:1], replay={"600000": record})
    bar = results[0][0].daily
    assert abs(bar.close - 10_30) <= 10  # within 0.10 of the historical close
    assert bar.high >= 10_30 and bar.low <= 9_90
