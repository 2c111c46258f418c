"""The exchange simulator (交易所模拟): every listed instrument's day, phase by phase.

Orders arrive with the China-time moment they reach the exchange; before handling one, the exchange
moves each instrument through the phases crossed since the last call (`puhui.securities.calendar`):
- the opening auction collects limit orders from 09:15; at 09:25 it prices and fills them
  (`auction`), and what is left joins the continuous book in time order;
- orders arriving 09:25–09:30 wait and are matched at 09:30;
- continuous trading matches at once (`book`);
- at 14:57 every resting order joins the closing auction, which prices and fills at 15:00; the close
  (收盘价) is the closing auction's price, or the last trade when it has none, or the previous close;
- at 15:00 what is left expires (orders are good for the day).
The exchange checks what the exchange checks (phase, the market-order kinds it takes, tick, band, lot,
size); cash, shares and T+1 are the broker's. It answers with execution reports (回报), which the broker books.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from puhui.errors import PuhuiError
from puhui.securities import calendar, models
from puhui.securities.auction import AuctionOrder, auction_fills, auction_price
from puhui.securities.book import MARKET_KINDS, PROTECTIVE_PRICE, OrderBook, OrderType, Trade
from puhui.securities.calendar import Phase
from puhui.securities.errors import (
    MarketClosed,
    OrderNotCancellable,
    OrderTypeNotOnExchange,
    PriceNotAllowed,
    PriceRequired,
    ProtectNotOnExchange,
    UnknownInstrument,
)
from puhui.securities.models import Instrument, Side


class Report(enum.StrEnum):
    accepted = "accepted"  # resting or waiting for an auction
    trade = "trade"
    cancelled = "cancelled"  # by the customer, or what a market order could not fill
    expired = "expired"  # left at the close


@dataclass(frozen=True, slots=True)
class Execution:
    """One execution report: for a trade, both orders' ids and the price and quantity."""

    report: Report
    order_id: str
    quantity: int
    price: int | None = None
    counter_id: str | None = None  # the other order of a trade


@dataclass(frozen=True, slots=True)
class NewOrder:
    id: str
    code: str
    side: Side
    quantity: int
    price: int | None = None  # fen; None for a market order
    kind: OrderType = OrderType.limit
    protect: int | None = None  # SSE's protective price for a market order


@dataclass
class Market:
    """One instrument's trading state for the day."""

    instrument: Instrument
    previous_close: int
    day: dt.date
    band: models.Band
    book: OrderBook
    auction: list[AuctionOrder] = field(default_factory=list)
    waiting: list[NewOrder] = field(default_factory=list)
    close: int | None = None
    volume: int = 0
    seq: int = 0


def check_order_type(instrument: Instrument, kind: OrderType, protect: int | None) -> None:
    """A market order (市价申报) of a kind its instrument's exchange takes (`book.MARKET_KINDS`): best five then
    limit on SSE only, immediate-or-cancel and fill-or-kill on SZSE only; and a protective price (保护限价)
    only where the exchange has one (SSE). A limit order passes (its price is checked elsewhere)."""
    if kind is OrderType.limit:
        return
    venue = instrument.exchange
    if kind not in MARKET_KINDS[venue]:
        taken = ", ".join(sorted(k.value for k in MARKET_KINDS[venue]))
        raise OrderTypeNotOnExchange(
            f"{instrument.code} trades on {venue.value}, which does not take {kind.value} market orders; "
            f"it takes {taken}",
            field="type",
        )
    if protect is not None and venue not in PROTECTIVE_PRICE:
        raise ProtectNotOnExchange(
            f"{instrument.code} trades on {venue.value}, whose market orders take no protective price "
            "(保护限价 is SSE's): leave it out",
            field="protect",
        )


def _trade_reports(trades: tuple[Trade, ...] | list[Trade]) -> list[Execution]:
    reports = []
    for t in trades:
        reports.append(Execution(Report.trade, t.buy_id, t.quantity, t.price, t.sell_id))
        reports.append(Execution(Report.trade, t.sell_id, t.quantity, t.price, t.buy_id))
    return reports


class Exchange:
    """All instruments' markets, moved through the day by the moments of the calls made to it."""

    def __init__(self, instruments: list[tuple[Instrument, int]], start: dt.datetime) -> None:
        self.day = start.date()
        self.stage = calendar.stage_at(start)
        self.markets = {i.code: self._open_market(i, close, self.day) for i, close in instruments}
        self._undelivered: list[Execution] = []

    def _open_market(self, instrument: Instrument, previous_close: int, day: dt.date) -> Market:
        number = calendar.trading_days_between(instrument.listed_on, day)
        band = models.price_band(instrument, previous_close, day, number)
        return Market(instrument, previous_close, day, band, OrderBook(instrument.code))

    def market(self, code: str) -> Market:
        found = self.markets.get(code)
        if found is None:
            raise UnknownInstrument(f"no instrument {code!r} is listed")
        return found

    @property
    def phase(self) -> Phase:
        return calendar.phase_of(self.stage)

    def rebase(self, code: str, previous_close: int) -> None:
        """Open the instrument's day again on another previous close (除权除息: the ex-date's reference
        price sets the band); the broker calls it before anything of the day was ordered."""
        m = self.market(code)
        self.markets[code] = self._open_market(m.instrument, previous_close, self.day)

    def advance(self, moment: dt.datetime) -> list[Execution]:
        """Run every phase change from the last moment seen to `moment`; the reports they produce.
        The exchange's clock never runs back: a moment before the last one seen changes nothing. Reports of
        phases an earlier refused call crossed (`_advanced`) come first."""
        reports, self._undelivered = self._undelivered, []
        if moment.date() < self.day:
            return reports
        if moment.date() > self.day:
            if self.stage:
                reports += self._through(calendar.CLOSED_FOR_THE_DAY)
            self.day, self.stage = moment.date(), 0
            for code, m in self.markets.items():
                self.markets[code] = self._open_market(m.instrument, m.close or m.previous_close, self.day)
        reports += self._through(calendar.stage_at(moment))
        return reports

    def _through(self, stage: int) -> list[Execution]:
        reports: list[Execution] = []
        while self.stage < stage:
            self.stage += 1
            for m in self.markets.values():
                reports += self._enter(m, self.phase, self.stage == calendar.CLOSED_FOR_THE_DAY)
        return reports

    def _enter(self, m: Market, phase: Phase, closing: bool) -> list[Execution]:
        if phase is Phase.pre_open:
            return self._run_auction(m, m.previous_close)
        if phase is Phase.continuous:
            waiting, m.waiting = m.waiting, []
            return [r for new in waiting for r in self._continuous(m, new)]
        if phase is Phase.closing_auction:
            for o in sorted(m.book.resting(), key=lambda o: o.seq):
                m.auction.append(AuctionOrder(o.id, o.side, o.price, o.remaining, o.seq))
                m.book.cancel(o.id)
            return []
        if closing:
            reports = self._run_auction(m, m.book.last_price or m.previous_close)
            m.close = m.close or m.book.last_price or m.previous_close
            reports += [Execution(Report.expired, o.id, o.quantity) for o in m.auction]
            m.auction = []
            return reports
        return []

    def _run_auction(self, m: Market, reference: int) -> list[Execution]:
        """Price and fill the auction; at the close its price is the close. Orders left over from the
        opening auction join the continuous book, in their time order."""
        price = auction_price(m.auction, m.instrument.exchange, reference)
        reports: list[Execution] = []
        filled: dict[str, int] = {}
        if price is not None:
            fills = auction_fills(m.auction, price)
            for f in fills:
                filled[f.buy_id] = filled.get(f.buy_id, 0) + f.quantity
                filled[f.sell_id] = filled.get(f.sell_id, 0) + f.quantity
            reports = _trade_reports([Trade(f.buy_id, f.sell_id, f.price, f.quantity) for f in fills])
            m.volume += price.volume
            m.book.last_price = price.price
            if self.stage == calendar.CLOSED_FOR_THE_DAY:
                m.close = price.price
        left = [o for o in m.auction if o.quantity > filled.get(o.id, 0)]
        m.auction = [AuctionOrder(o.id, o.side, o.price, o.quantity - filled.get(o.id, 0), o.seq) for o in left]
        if self.stage < calendar.CLOSED_FOR_THE_DAY:
            for o in m.auction:
                m.book.submit(o.id, o.side, o.quantity, o.price)  # nothing crosses after an auction
            m.auction = []
        return reports

    # Orders ----------------------------------------------------------------------------------

    def submit(self, order: NewOrder, moment: dt.datetime) -> list[Execution]:
        """Accept an order at `moment` (after the phase changes before it) and what it did at once."""
        with self._advanced(moment) as reports:
            return reports + self._accept(order)

    def _accept(self, order: NewOrder) -> list[Execution]:
        m = self.market(order.code)
        phase = self.phase
        self._check(m, order, phase)
        m.seq += 1
        if phase in (Phase.opening_auction, Phase.opening_auction_no_cancel, Phase.closing_auction):
            assert order.price is not None
            m.auction.append(AuctionOrder(order.id, order.side, order.price, order.quantity, m.seq))
            return [Execution(Report.accepted, order.id, order.quantity, order.price)]
        if phase is Phase.pre_open:
            m.waiting.append(order)
            return [Execution(Report.accepted, order.id, order.quantity, order.price)]
        return self._continuous(m, order)

    @contextmanager
    def _advanced(self, moment: dt.datetime) -> Iterator[list[Execution]]:
        """The phase changes up to `moment` and their reports, for a call that may then refuse: a refusal
        keeps the reports for the next call, so no trade or expiry the phases made goes unreported."""
        reports = self.advance(moment)
        try:
            yield reports
        except PuhuiError:
            self._undelivered = reports
            raise

    def _check(self, m: Market, order: NewOrder, phase: Phase) -> None:
        if not calendar.accepts_orders(phase):
            raise MarketClosed(f"the market takes no orders now ({phase.value})")
        market = order.kind is not OrderType.limit
        if market and not calendar.accepts_market_orders(phase):
            raise MarketClosed("market orders are taken in continuous trading only")
        check_order_type(m.instrument, order.kind, order.protect)
        if order.side is Side.buy:
            models.check_buy_quantity(m.instrument.board, order.quantity, market)
        else:  # an odd lot may be a holding's whole remainder: the broker, who knows the holding, checks it
            models.check_size(m.instrument.board, order.quantity, market)
        if order.price is not None and market:
            raise PriceNotAllowed(f"a {order.kind.value} order takes no price", field="price")
        if order.price is not None:
            models.check_price(order.price, m.band)
        elif not market:
            raise PriceRequired("a limit order needs a price", field="price")

    def _continuous(self, m: Market, order: NewOrder) -> list[Execution]:
        result = m.book.submit(order.id, order.side, order.quantity, order.price, order.kind, order.protect)
        reports = _trade_reports(result.trades)
        m.volume += sum(t.quantity for t in result.trades)
        if result.rested:
            reports.append(Execution(Report.accepted, order.id, result.rested, result.price))
        if result.cancelled:
            reports.append(Execution(Report.cancelled, order.id, result.cancelled))
        return reports

    def cancel(self, code: str, order_id: str, moment: dt.datetime) -> list[Execution]:
        """Cancel what is left of an order (撤单), in the phases that take cancels."""
        with self._advanced(moment) as reports:
            return reports + self._withdraw(code, order_id)

    def _withdraw(self, code: str, order_id: str) -> list[Execution]:
        m = self.market(code)
        if not calendar.accepts_cancel(self.phase):
            raise OrderNotCancellable(f"no cancels now ({self.phase.value})")
        left = m.book.cancel(order_id)
        for i, queued in enumerate(m.auction):
            if queued.id == order_id:
                left += m.auction.pop(i).quantity
                break
        for i, waiting in enumerate(m.waiting):
            if waiting.id == order_id:
                left += m.waiting.pop(i).quantity
                break
        if not left:
            raise OrderNotCancellable(f"order {order_id} has nothing left to cancel")
        return [Execution(Report.cancelled, order_id, left)]
