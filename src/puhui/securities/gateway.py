"""The gateway to the exchange simulator (交易网关): one `exchange.Exchange` per instrument per process,
kept as a cache of the persisted book.

Every order and cancel runs in one unit of work that locks the instrument's row and reads its
`book_version`. When the cached book carries that version it is used as it is; otherwise (another
worker or process changed the book, or this process restarted) the book is rebuilt from the persisted
open orders in time order, at the moment it was last moved to, so the opening auction's, the waiting
orders' and the continuous book's contents come back where they were. After the call the row gets a new
version and the moment, and once the unit of work commits the cache keeps the exchange under that
version. A cached entry is taken out while in use and put back only after the commit, so a call that
fails or rolls back leaves nothing cached and the next one rebuilds: the API stays stateless-correct
across workers while one worker never reloads.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.securities import calendar, instruments
from puhui.securities.auction import AuctionOrder
from puhui.securities.book import OrderType
from puhui.securities.calendar import Phase
from puhui.securities.exchange import Exchange, Market, NewOrder
from puhui.securities.models import Side
from puhui.securities.tables import securities_instruments as instruments_table
from puhui.securities.tables import securities_orders as orders

OPEN = "open"
_AUCTION = (Phase.opening_auction, Phase.opening_auction_no_cancel, Phase.closing_auction)

_cache: dict[str, tuple[str, Exchange]] = {}
_cache_lock = threading.Lock()
rebuilds = 0  # how many books this process rebuilt (read by tests)


def exchange_moment(micros: int | None = None) -> dt.datetime:
    """A moment as the exchange reads it: China time, without a zone."""
    when = clock.now() if micros is None else clock.from_micros(micros)
    return when.astimezone(clock.CHINA).replace(tzinfo=None)


@dataclass
class Session:
    """One instrument's exchange, taken for one unit of work."""

    row: dict[str, Any]
    exchange: Exchange
    moment: dt.datetime  # the one moment of this call, China time: the exchange moves to it and no further

    @property
    def market(self) -> Market:
        return self.exchange.market(self.row["code"])

    def next_seq(self) -> int:
        self.row["order_seq"] += 1
        return int(self.row["order_seq"])


def take(uow: UnitOfWork, code: str) -> Session:
    """Lock the instrument and take its exchange: the cached one when its version is current, else one
    rebuilt from the persisted open orders."""
    row = instruments.lock(uow, code)
    with _cache_lock:
        cached = _cache.pop(code, None)
    moment = exchange_moment()
    if cached is not None and cached[0] == row["book_version"]:
        return Session(row, cached[1], moment)
    return Session(row, _rebuild(uow, row), moment)


def give_back(uow: UnitOfWork, session: Session) -> None:
    """Persist where the book stands (a new version, the moment, the closes) and cache the exchange."""
    market = session.market
    version = uuid.uuid4().hex
    uow.execute(
        instruments_table.update()
        .where(instruments_table.c.code == session.row["code"])
        .values(
            book_version=version,
            book_moment=clock.to_micros(session.moment.replace(tzinfo=clock.CHINA)),
            previous_close=market.previous_close,
            last_price=market.book.last_price,
            order_seq=session.row["order_seq"],
        )
    )
    code, exchange = session.row["code"], session.exchange

    def cache() -> None:
        with _cache_lock:
            _cache[code] = (version, exchange)

    uow.after_commit.append(cache)


def _rebuild(uow: UnitOfWork, row: dict[str, Any]) -> Exchange:
    """The instrument's exchange as persisted: opened at the moment the book was last moved to, its open
    orders placed where that moment's phase keeps them, in time order."""
    global rebuilds
    rebuilds += 1
    start = exchange_moment(row["book_moment"])
    exchange = Exchange([(instruments.model_of(row), row["previous_close"])], start)
    market = exchange.market(row["code"])
    market.book.last_price = row["last_price"]
    query = select(orders).where(orders.c.code == row["code"], orders.c.status == OPEN).order_by(orders.c.seq)
    phase = exchange.phase
    for o in uow.execute(query).mappings():
        _place(market, phase, dict(o))
    return exchange


def _place(market: Market, phase: Phase, order: dict[str, Any]) -> None:
    left = order["quantity"] - order["filled"] - order["cancelled"]
    side, price = Side(order["side"]), order["rest_price"]
    if left <= 0 or price is None:
        return
    market.seq += 1
    if phase in _AUCTION:
        market.auction.append(AuctionOrder(order["id"], side, price, left, market.seq))
    elif phase is Phase.pre_open:
        market.waiting.append(NewOrder(order["id"], order["code"], side, left, price, OrderType.limit))
    elif phase in (Phase.continuous, Phase.lunch_break):
        market.book.submit(order["id"], side, left, price)


def phase_now() -> Phase:
    return calendar.phase_at(exchange_moment())
