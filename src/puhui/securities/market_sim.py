"""A simulated market (模拟行情): agents trading through the real exchange simulator, minute by minute.

Each instrument has a fair value that moves through the day: a random walk, or, when replaying a
historical daily bar, a path from the bar's open through its high and low (in random order) to its
close. Three kinds of agents trade around it:
- market makers (做市商) quote both sides a few ticks from fair value, leaning against their inventory,
  and renew their quotes every minute;
- noise traders (噪声交易者) arrive at random, half with limit orders near the fair value, half with
  orders at the counterparty's best price;
- momentum traders (趋势交易者) follow the last five minutes' move with counterparty-best orders.
Noise traders also bid and offer in both call auctions. Everything is seeded: one seed, one market.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from puhui.securities import calendar
from puhui.securities.book import OrderType
from puhui.securities.errors import MarketClosed, OrderNotCancellable, PriceOutsideBand
from puhui.securities.exchange import Exchange, Execution, NewOrder, Report
from puhui.securities.marketdata import Bar, DailyRecord, Tick, bars, daily_bar
from puhui.securities.models import Band, Board, Instrument, Side

AUCTION_MINUTES = [dt.time(9, m) for m in range(15, 25)] + [dt.time(14, m) for m in (57, 58, 59)]
CONTINUOUS_MINUTES = [
    dt.time(h, m) for h in range(9, 15) for m in range(60) if dt.time(9, 30) <= dt.time(h, m) < dt.time(14, 57)
]
TRADING_MINUTES = sorted(
    set(AUCTION_MINUTES) | {t for t in CONTINUOUS_MINUTES if not dt.time(11, 30) <= t < dt.time(13, 0)}
)


@dataclass
class Agents:
    market_makers: int = 2
    noise_per_minute: float = 6.0
    momentum_traders: int = 3
    volatility: float = 0.0015  # per minute, of the fair value's log


@dataclass
class InstrumentDay:
    instrument: Instrument
    ticks: list[Tick] = field(default_factory=list)
    minute_bars: list[Bar] = field(default_factory=list)
    daily: Bar | None = None
    close: int = 0


class MarketSimulation:
    """Agents trading the listed instruments through one `Exchange`, day after trading day."""

    def __init__(self, listed: Sequence[tuple[Instrument, int]], seed: int, agents: Agents | None = None) -> None:
        self.listed = list(listed)
        self.rng = random.Random(seed)
        self.agents = agents or Agents()
        self.exchange: Exchange | None = None
        self.fair: dict[str, float] = {i.code: float(close) for i, close in listed}
        self.boards = {i.code: i.board for i, _ in listed}
        self.orders: dict[str, tuple[str, Side]] = {}  # order id → instrument code, side
        self.quotes: dict[str, list[str]] = {i.code: [] for i, _ in listed}
        self.inventory: dict[str, int] = {i.code: 0 for i, _ in listed}
        self.recent: dict[str, list[int]] = {i.code: [] for i, _ in listed}  # last price at each minute
        self.ticks: dict[str, list[Tick]] = {}
        self.seq = 0

    def run_day(self, day: dt.date, replay: dict[str, DailyRecord] | None = None) -> list[InstrumentDay]:
        """One trading day; `replay` gives instruments whose fair value follows a historical bar."""
        if not calendar.is_trading_day(day):
            return []
        start = dt.datetime.combine(day, dt.time(9, 0))
        if self.exchange is None:
            self.exchange = Exchange(self.listed, start)
        self.ticks = {code: [] for code in self.fair}
        self._record(self.exchange.advance(start), start)
        paths = {code: self._path(code, (replay or {}).get(code)) for code in self.fair}
        for n, minute in enumerate(TRADING_MINUTES):
            moment = dt.datetime.combine(day, minute)
            if minute == dt.time(9, 30):
                opening = dt.datetime.combine(day, dt.time(9, 25))
                self._record(self.exchange.advance(opening), opening)
            for code, path in paths.items():
                self.fair[code] = path[n]
                self._minute(code, moment, minute)
        closing = dt.datetime.combine(day, dt.time(15, 0))
        self._record(self.exchange.advance(closing), closing)
        return self._summarise(day)

    def _path(self, code: str, record: DailyRecord | None) -> list[float]:
        """The fair value at each trading minute."""
        steps = len(TRADING_MINUTES)
        if record is None:
            value, path = self.fair[code], []
            for _ in range(steps):
                value *= math.exp(self.rng.gauss(0, self.agents.volatility))
                path.append(value)
            return path
        middle = [record.high, record.low] if self.rng.random() < 0.5 else [record.low, record.high]
        anchors = [record.open, *middle, record.close]
        marks = [0, steps // 3, 2 * steps // 3, steps - 1]
        path = []
        for n in range(steps):
            k = min(max(i for i, m in enumerate(marks) if m <= n), len(marks) - 2)
            share = min((n - marks[k]) / (marks[k + 1] - marks[k]), 1.0)
            path.append(anchors[k] + (anchors[k + 1] - anchors[k]) * share)
        return path

    def _minute(self, code: str, moment: dt.datetime, minute: dt.time) -> None:
        assert self.exchange is not None
        band = self.exchange.market(code).band
        fair = self.fair[code]
        if minute in AUCTION_MINUTES:
            for _ in range(self._poisson(self.agents.noise_per_minute)):
                side = self._side()
                price = _in_band(round(fair * (1 + self.rng.gauss(0, 0.004))), band)
                self._send(NewOrder(self._id(code, side), code, side, self._lot(code), price), moment)
            return
        self._make_market(code, moment, fair, band)
        for _ in range(self._poisson(self.agents.noise_per_minute)):
            side = self._side()
            if self.rng.random() < 0.5:
                kind = OrderType.counterparty_best
                self._send(NewOrder(self._id(code, side), code, side, self._lot(code), kind=kind), moment)
            else:
                offset = self.rng.randint(-3, 3)
                price = _in_band(round(fair) + (offset if side is Side.buy else -offset), band)
                self._send(NewOrder(self._id(code, side), code, side, self._lot(code), price), moment)
        self._momentum(code, moment)

    def _make_market(self, code: str, moment: dt.datetime, fair: float, band: Band) -> None:
        assert self.exchange is not None
        for oid in self.quotes[code]:
            try:
                self._record(self.exchange.cancel(code, oid, moment), moment)
            except OrderNotCancellable:  # the quote traded in full
                continue
        self.quotes[code] = []
        lean = -self.inventory[code] // 5_000  # a tick per 5,000 shares held
        for _ in range(self.agents.market_makers):
            half = self.rng.randint(1, 3)
            for side, price in ((Side.buy, round(fair) - half + lean), (Side.sell, round(fair) + half + lean)):
                oid = self._id(code, side, maker=True)
                self.quotes[code].append(oid)
                quantity = 100 * self.rng.randint(5, 20)
                self._send(NewOrder(oid, code, side, quantity, _in_band(price, band)), moment)

    def _momentum(self, code: str, moment: dt.datetime) -> None:
        """Follow the move of the last five minutes when it is over 0.2%."""
        assert self.exchange is not None
        last = self.exchange.market(code).book.last_price
        recent = self.recent[code]
        if last is not None:
            recent.append(last)
            del recent[:-6]
        if len(recent) < 6 or not self.agents.momentum_traders:
            return
        move = (recent[-1] - recent[0]) / recent[0]
        if abs(move) < 0.002:
            return
        side = Side.buy if move > 0 else Side.sell
        for _ in range(self.agents.momentum_traders):
            kind = OrderType.counterparty_best
            self._send(NewOrder(self._id(code, side), code, side, self._lot(code), kind=kind), moment)

    def _send(self, order: NewOrder, moment: dt.datetime) -> None:
        assert self.exchange is not None
        try:
            self._record(self.exchange.submit(order, moment), moment)
        except (MarketClosed, PriceOutsideBand):
            return

    def _record(self, reports: list[Execution], moment: dt.datetime) -> None:
        """Ticks from the buy side's trade reports; the market makers' inventories from theirs."""
        for r in reports:
            if r.report is not Report.trade or r.price is None:
                continue
            code, side = self.orders[r.order_id]
            if side is Side.buy:
                self.ticks[code].append(Tick(moment, r.price, r.quantity))
            if r.order_id.startswith("mm"):
                self.inventory[code] += r.quantity if side is Side.buy else -r.quantity

    def _summarise(self, day: dt.date) -> list[InstrumentDay]:
        assert self.exchange is not None
        days = []
        for instrument, _ in self.listed:
            market = self.exchange.market(instrument.code)
            close = market.close or market.previous_close
            ticks = self.ticks[instrument.code]
            days.append(InstrumentDay(instrument, ticks, bars(ticks), daily_bar(ticks, day, close), close))
        return days

    def _id(self, code: str, side: Side, maker: bool = False) -> str:
        self.seq += 1
        oid = f"{'mm' if maker else 'ag'}{self.seq}"
        self.orders[oid] = (code, side)
        return oid

    def _side(self) -> Side:
        return Side.buy if self.rng.random() < 0.5 else Side.sell

    def _lot(self, code: str) -> int:
        """A buy's lot; on STAR at least 200 shares."""
        lots = 100 * self.rng.choice((1, 1, 2, 3, 5, 10))
        return lots + 100 if self.boards[code] is Board.star else lots

    def _poisson(self, mean: float) -> int:
        limit, k, p = math.exp(-mean), 0, self.rng.random()
        while p > limit:
            k += 1
            p *= self.rng.random()
        return k


def _in_band(price: int, band: Band) -> int:
    low = band.low if band.low is not None else 1
    high = band.high if band.high is not None else price
    return max(low, min(price, high))
