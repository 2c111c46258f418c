"""A liquidity provider (流动性提供商, 做市) for a sandbox market: a brokerage customer who keeps a ladder of
bids and offers around each instrument's reference price through the ordinary order path, so a
customer's order in the demo meets a counterparty. Orders are day orders: the ladder is placed again
each session, by the sandbox's market loop (`make_markets`).

Everything here trades through `orders.place` and `orders.cancel`: the same rules, freezes, fees and
ledger postings as any customer's order. Nothing here runs outside the sandbox (the caller decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.securities import accounts, calendar, gateway, instruments, models, orders, suitability
from puhui.securities.tables import securities_accounts, securities_orders

LEVELS = 3  # price levels a side
LEVEL_VALUE = 4_000_00  # fen a level, about: whole lots of at least one
STEP_TICKS = {models.STOCK_SCALE: 1, models.ETF_SCALE: 2}  # ticks between levels (0.01 CNY, 0.002 CNY)


@dataclass(frozen=True)
class Quote:
    side: models.Side
    price: int
    quantity: int


def ladder(instrument: models.Instrument, reference: int, band: models.Band) -> list[Quote]:
    """Bids below and offers above `reference` (one step away, then a step apart), each about
    `LEVEL_VALUE` in whole lots, inside the day's band (levels outside it are left out)."""
    step = STEP_TICKS[instrument.price_scale] * models.TICK
    lot = models.STAR_MIN if instrument.board is models.Board.star else models.LOT
    quotes = []
    for n in range(1, LEVELS + 1):
        for side, price in ((models.Side.buy, reference - n * step), (models.Side.sell, reference + n * step)):
            if price <= 0 or not band.contains(price):
                continue
            lots = max(1, LEVEL_VALUE // max(1, models.trade_value(instrument.code, price, lot)))
            quotes.append(Quote(side, price, lots * lot))
    return quotes


def _open_orders(connection: Connection, maker_id: str, code: str) -> list[dict[str, Any]]:
    query = select(securities_orders).where(
        securities_orders.c.customer_id == maker_id,
        securities_orders.c.code == code,
        securities_orders.c.status == "open",
    )
    return [dict(r) for r in connection.execute(query).mappings()]


def _middle(resting: list[dict[str, Any]], step: int) -> int:
    """Where a resting ladder is centred: between its best bid and offer, or a step from the one side."""
    bids = [int(o["price"]) for o in resting if o["side"] == "buy"]
    asks = [int(o["price"]) for o in resting if o["side"] == "sell"]
    if bids and asks:
        return (max(bids) + min(asks)) // 2
    return max(bids) + step if bids else min(asks) - step


def refresh(uow: UnitOfWork, maker_id: str, code: str, budget: int | None = None) -> int:
    """Keep `maker_id`'s ladder on `code` around its reference price (last trade, else previous close):
    placed when the market takes orders and the maker has none open, placed again when the reference
    moved by more than a step from the ladder's middle; its bids within `budget` fen when given (a share
    of the provider's cash, so one instrument's bids do not take it all), and none on a ChiNext or STAR
    share unless staff granted the provider that board (`securities.permissions`), nor on a security
    above the provider's risk level (`securities.suitability`): it offers only there.
    Answers how many it placed."""
    moment = gateway.exchange_moment()
    phase = calendar.phase_at(moment)
    if not calendar.accepts_orders(phase):
        return 0
    row = instruments.require(uow.connection, code)
    instrument = instruments.model_of(row)
    reference = row["last_price"] or row["previous_close"]
    step = STEP_TICKS[instrument.price_scale] * models.TICK
    resting = _open_orders(uow.connection, maker_id, code)
    if resting:
        if abs(_middle(resting, step) - reference) <= step:
            return 0
        if not calendar.accepts_cancel(phase):
            return 0
        for order in resting:
            orders.cancel(uow, maker_id, order["id"])
    session = gateway.take(uow, code)  # the book rolled to today (an ex-date's reference price) gives the band
    band = session.market.band
    gateway.give_back(uow, session)
    placed = 0
    stamp = clock.now_micros()
    cash, shares = accounts.cash(uow.connection, maker_id), orders.sellable_shares(uow.connection, maker_id, code)
    cash = cash if budget is None else min(cash, budget)
    account = accounts.require(uow.connection, maker_id)
    may_buy = orders.may_buy_on(account, instrument.board) and suitability.may_buy(uow.connection, maker_id, instrument)
    for quote in ladder(instrument, reference, band):
        value = models.trade_value(code, quote.price, quote.quantity)
        need = value + value // 100 + 5_00  # the value and more than any fee: a level it cannot pay is left out
        buying = quote.side is models.Side.buy
        if (buying and (not may_buy or need > cash)) or (not buying and quote.quantity > shares):
            continue
        request = orders.OrderRequest(code, quote.side, quote.quantity, quote.price)
        orders.place(uow, maker_id, request, f"mm.{code}.{stamp}.{quote.side.value}.{quote.price}")
        cash, shares = (cash - need, shares) if buying else (cash, shares - quote.quantity)
        placed += 1
    return placed


def refresh_all(uow: UnitOfWork, maker_id: str) -> int:
    """The ladder on every listed instrument (what the sandbox's market loop calls), the provider's cash
    (free and frozen under its bids) shared equally among the instruments' bids."""
    listed = instruments.list_all(uow.connection)
    cash = accounts.cash(uow.connection, maker_id) + accounts.frozen_cash(uow.connection, maker_id)
    return sum(refresh(uow, maker_id, row["code"], cash // max(1, len(listed))) for row in listed)


def stock_up(uow: UnitOfWork, customer_id: str, refills: int = 10) -> dict[str, int]:
    """Deposit (转托管转入) `refills` ladders' worth of offers of every listed instrument with the provider,
    so it can keep offering through a session of customers' buys (sandbox only). Answers code → units."""
    deposited = {}
    for row in instruments.list_all(uow.connection):
        instrument = instruments.model_of(row)
        offers = [
            q for q in ladder(instrument, row["previous_close"], models.Band(None, None)) if q.side.value == "sell"
        ]
        deposited[row["code"]] = refills * sum(q.quantity for q in offers)
        orders.deposit_shares(uow, customer_id, row["code"], deposited[row["code"]], f"mm.{customer_id}.{row['code']}")
    return deposited


def designate(uow: UnitOfWork, customer_id: str) -> None:
    """Make the customer's brokerage account a liquidity provider (sandbox only: the caller checks)."""
    accounts.require(uow.connection, customer_id)
    where = securities_accounts.c.customer_id == customer_id
    uow.execute(securities_accounts.update().where(where).values(liquidity_provider=True))


def providers(connection: Connection) -> list[str]:
    query = select(securities_accounts.c.customer_id).where(securities_accounts.c.liquidity_provider.is_(True))
    return [r[0] for r in connection.execute(query.order_by(securities_accounts.c.customer_id))]


def make_markets(engine: Engine) -> int:
    """One turn of the sandbox's market loop: move every book to now (an auction crossed, the day's
    orders expired at the close), then each provider's ladder on every instrument, one unit of work
    per provider. Answers how many orders were placed; with no provider it only reads."""
    with reading(engine) as connection:
        makers = providers(connection)
    if not makers:
        return 0
    transaction(engine, orders.advance)
    placed = 0
    for maker in makers:
        placed += transaction(engine, lambda uow: refresh_all(uow, maker))  # noqa: B023 - called at once
    return placed
