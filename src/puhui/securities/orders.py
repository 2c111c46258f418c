"""Orders (委托) through the exchange simulator, each in one unit of work: the broker's checks (board
permission, phase, the market-order kinds of the instrument's exchange, lot, a buyer's suitability, tick,
band, T+1 sellable shares, cash), the freeze, the
exchange's answer and its bookings (`booking`); cancels (撤单); and the customer's orders, positions and
account summary.

A refused order changes nothing: every check runs before anything is written, and a refusal raised
later (by the ledger or the exchange) rolls the whole unit of work back."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events.outbox import publish
from puhui.ledger import queries as ledger_queries
from puhui.ledger.models import AccountFlags, Transfer
from puhui.ledger.service import create_account, post_chain
from puhui.money import format_minor
from puhui.securities import accounts, calendar, distributions, gateway, instruments, models, suitability
from puhui.securities.book import PROTECTIVE_PRICE, OrderType
from puhui.securities.booking import OPEN, TOPIC, Books, add_cost, cost_of
from puhui.securities.errors import (
    MarketClosed,
    OrderNotCancellable,
    PriceNotAllowed,
    PriceRequired,
    ProtectNotAllowed,
    SharesNotSellable,
)
from puhui.securities.exchange import NewOrder, check_order_type
from puhui.securities.refusals import BoardNotPermitted, InsufficientCash, MarketOrderUnbounded, OrderNotFound
from puhui.securities.tables import securities_executions as executions
from puhui.securities.tables import securities_orders as orders
from puhui.securities.tables import securities_positions as positions


@dataclass(frozen=True, slots=True)
class OrderRequest:
    code: str
    side: models.Side
    quantity: int
    price: int | None  # fen; None for a market order
    kind: OrderType = OrderType.limit
    protect: int | None = None


def check_kind(kind: OrderType, price: object, protect: object) -> None:
    """A limit order names its price and no protective price; a market order (市价申报) no price, and
    on SSE it may name a protective price (保护限价). `price` and `protect` as given, None if not. Whether
    the instrument's exchange takes the kind, and a protective price, is `exchange.check_order_type`."""
    if kind is OrderType.limit:
        if price is None:
            raise PriceRequired("a limit order needs a price", field="price")
        if protect is not None:
            raise ProtectNotAllowed("a limit order's price is its limit: it takes no protective price", field="protect")
    elif price is not None:
        raise PriceNotAllowed(
            f"a {kind.value} order trades at the book's prices and takes no price; send `protect` to bound it",
            field="price",
        )


def check_request(connection: Connection, code: str, kind: OrderType, price: object, protect: object) -> None:
    """An order's kind and prices, checked in the order a customer would fix them: first whether the share's
    exchange takes the kind at all (`order_type_not_on_exchange`, e.g. SZSE's immediate-or-cancel on SSE's
    600000, with a price or without), then its prices for its kind (`check_kind`: `price_required`,
    `price_not_allowed`, `protect_not_allowed`). An unlisted code has no exchange: its prices are checked, and
    placing it is `unknown_instrument`."""
    if kind is not OrderType.limit:
        row = instruments.find(connection, code)
        if row is not None:
            check_order_type(instruments.model_of(row), kind, None)  # a protective price: `place`, as before
    check_kind(kind, price, protect)


def _order_id(customer_id: str, client_id: str) -> str:
    return "so_" + hashlib.sha256(f"{customer_id}\x1f{client_id}".encode()).hexdigest()[:24]


def today() -> dt.date:
    return gateway.exchange_moment().date()


# -- placing ---------------------------------------------------------------------------------------


def place(
    uow: UnitOfWork, customer_id: str, request: OrderRequest, client_id: str, advised: bool = False
) -> dict[str, Any]:
    """Place an order (下单); the same client_id again answers the order it made. A buy of the customer's
    own needs their risk level to cover the security (`suitability.check_buy`); an `advised` one (a
    robo-advice portfolio's, matched to the level as a whole at subscription) does not."""
    order_id = _order_id(customer_id, client_id)
    existing = _find(uow.connection, order_id)
    if existing is not None:
        return order_json(existing)
    check_kind(request.kind, request.price, request.protect)
    account = accounts.require(uow.connection, customer_id)
    instrument = instruments.model_of(instruments.require(uow.connection, request.code))
    _check_static(account, instrument, request, customer_id, uow.connection)
    if request.side is models.Side.buy and not advised:
        suitability.check_buy(uow.connection, customer_id, instrument)
    session = gateway.take(uow, request.code)
    _catch_up(uow, session)
    _check_price(session, request)
    frozen_cash, frozen_shares = _freeze(uow, session, account, request, order_id, customer_id)
    now = clock.now_micros()
    row = {
        "id": order_id,
        "customer_id": customer_id,
        "client_id": client_id,
        "code": request.code,
        "side": request.side.value,
        "kind": request.kind.value,
        "price": request.price,
        "protect": request.protect,
        "rest_price": request.price,
        "quantity": request.quantity,
        "filled": 0,
        "cancelled": 0,
        "value": 0,
        "frozen_cash": frozen_cash,
        "frozen_shares": frozen_shares,
        "commission": 0,
        "stamp_duty": 0,
        "transfer_fee": 0,
        "status": OPEN,
        "seq": session.next_seq(),
        "trade_day": session.moment.date(),
        "created_at": now,
        "updated_at": now,
    }
    uow.execute(orders.insert().values(**row))
    placed = {"order_id": order_id, "customer_id": customer_id, "code": request.code, "side": request.side.value}
    publish(uow, TOPIC, "securities.order_placed", order_id, {**placed, "quantity": request.quantity})
    new = NewOrder(order_id, request.code, request.side, request.quantity, request.price, request.kind, request.protect)
    reports = session.exchange.submit(new, session.moment)
    Books(uow, request.code).book(reports, session.moment.date())
    gateway.give_back(uow, session)
    return order_json(_require(uow.connection, customer_id, order_id))


def _check_static(
    account: dict[str, Any],
    instrument: models.Instrument,
    request: OrderRequest,
    customer_id: str,
    connection: Connection,
) -> None:
    """What the broker checks before the exchange: permission, phase, the order's kind on the instrument's
    exchange (as the exchange would), lot and sellable shares."""
    board = instrument.board
    if request.side is models.Side.buy and not may_buy_on(account, board):
        raise BoardNotPermitted(f"the account may not buy {board.value} shares ({instrument.code})")
    phase = gateway.phase_now()
    market = request.kind is not OrderType.limit
    if not calendar.accepts_orders(phase) or (market and not calendar.accepts_market_orders(phase)):
        raise MarketClosed(f"the market takes no {'market ' if market else ''}orders now ({phase.value})")
    check_order_type(instrument, request.kind, request.protect)
    if request.side is models.Side.buy:
        models.check_buy_quantity(board, request.quantity, market)
        return
    models.check_size(board, request.quantity, market)
    sellable = sellable_shares(connection, customer_id, instrument.code)
    if request.quantity > sellable:  # before the lot rule: more than is sellable is the mistake, whatever the lot
        raise SharesNotSellable(
            f"{sellable} shares of {instrument.code} are sellable today, not {request.quantity}", field="quantity"
        )
    models.check_sell_quantity(board, request.quantity, sellable, market)


def may_buy_on(account: dict[str, Any], board: models.Board) -> bool:
    """Whether the account may buy on the board: ChiNext and STAR only with the permission staff granted
    (`securities.permissions`); selling needs none."""
    if board is models.Board.chinext:
        return bool(account["chinext"])
    if board is models.Board.star:
        return bool(account["star"])
    return True


def _catch_up(uow: UnitOfWork, session: gateway.Session) -> None:
    """Move the exchange to now and book what the phases crossed did: a day left behind is closed
    first, so its closing auction's trades and its expiries carry that day."""
    now = session.moment
    books = Books(uow, session.row["code"])
    rolled = now.date() > session.exchange.day
    if rolled:
        last_day = session.exchange.day
        books.book(session.exchange.advance(dt.datetime.combine(last_day, dt.time(23, 59, 59))), last_day)
        session.exchange.advance(dt.datetime.combine(now.date(), dt.time(0, 0)))
        distributions.on_new_day(uow, session)  # the registrar's moment: no order of the new day yet
    books.book(session.exchange.advance(now), now.date())


def _check_price(session: gateway.Session, request: OrderRequest) -> None:
    scale = models.price_scale_of(request.code)
    if request.price is not None:
        models.check_price(request.price, session.market.band, scale)
    elif request.protect is not None:
        models.check_price(request.protect, session.market.band, scale, field="protect")


def _freeze(
    uow: UnitOfWork,
    session: gateway.Session,
    account: dict[str, Any],
    request: OrderRequest,
    order_id: str,
    customer_id: str,
) -> tuple[int, int]:
    """Freeze what the order may need (冻结): a buy its highest value plus that value's fees, a sell its
    shares and the minimum commission. Answers the cash and shares frozen."""
    code = request.code
    schedule = accounts.fee_schedule(account)
    if request.side is models.Side.buy:
        ceiling = request.price or request.protect or session.market.band.high
        if ceiling is None:
            raise MarketOrderUnbounded(_unbounded(code, session.market.instrument.exchange))
        value = models.trade_value(code, ceiling, request.quantity)
        cash = value + models.trade_fees(schedule, models.Side.buy, value, models.is_etf(code)).total
        _ensure_holder(uow, code, customer_id)
        shares = 0
    else:
        cash, shares = schedule.commission_minimum, request.quantity
    moves = [
        Transfer(
            f"{order_id}.freeze",
            accounts.cash_account(customer_id),
            accounts.frozen_cash_account(customer_id),
            cash,
            accounts.LEDGER,
            "securities_freeze",
        )
    ]
    if shares:
        moves.append(
            Transfer(
                f"{order_id}.freeze_shares",
                instruments.holder_account(code, customer_id),
                instruments.frozen_shares_account(code, customer_id),
                shares,
                instruments.ledger_of(code),
                "securities_freeze",
            )
        )
    post_chain(uow, moves, short=InsufficientCash, what=f"the brokerage cash does not cover {format_minor(cash, 2)}")
    return cash, shares


def _unbounded(code: str, venue: models.Exchange) -> str:
    """Why a market buy of a share without a price limit today is refused: on SSE it needs a protective
    price to bound what it freezes; SZSE has none, and takes market orders only on shares with a limit."""
    if venue in PROTECTIVE_PRICE:
        return f"{code} has no price limit today: send a protective price"
    return f"{code} has no price limit today and {venue.value} has no protective price: send a limit order"


def _ensure_holder(uow: UnitOfWork, code: str, customer_id: str) -> None:
    """The customer's holder and frozen-shares accounts on the instrument's unit ledger."""
    for account_id, account_code in (
        (instruments.holder_account(code, customer_id), "securities_shares_held"),
        (instruments.frozen_shares_account(code, customer_id), "securities_shares_frozen"),
    ):
        create_account(
            uow,
            ledger=instruments.ledger_of(code),
            code=account_code,
            owner_id=customer_id,
            flags=AccountFlags.debits_must_not_exceed_credits,
            id=account_id,
        )


def deposit_shares(uow: UnitOfWork, customer_id: str, code: str, quantity: int, reference: str) -> None:
    """Shares deposited with the broker (转托管转入) from the registry, at no cost basis: available at
    once. How a simulation or a test seeds holdings; `reference` names the deposit (idempotent)."""
    accounts.require(uow.connection, customer_id)
    instruments.require(uow.connection, code)
    _ensure_holder(uow, code, customer_id)
    move = Transfer(
        f"sec.deposit.{reference}",
        instruments.issued_account(code),
        instruments.holder_account(code, customer_id),
        quantity,
        instruments.ledger_of(code),
        "securities_deposit",
    )
    post_chain(uow, [move])
    add_cost(uow, customer_id, code, 0)


# -- cancelling ------------------------------------------------------------------------------------


def cancel(uow: UnitOfWork, customer_id: str, order_id: str) -> dict[str, Any]:
    """Cancel what is left of an open order (撤单); its frozen cash and shares come back at once."""
    order = _require(uow.connection, customer_id, order_id)
    if order["status"] != OPEN:
        raise OrderNotCancellable(f"order {order_id} is {order['status']}")
    phase = gateway.phase_now()
    if not calendar.accepts_cancel(phase):  # 09:20-09:25, the closing auction, closed
        raise OrderNotCancellable(f"no cancels now ({phase.value})")
    session = gateway.take(uow, order["code"])
    _catch_up(uow, session)
    if _require(uow.connection, customer_id, order_id)["status"] != OPEN:
        raise OrderNotCancellable(f"order {order_id} has ended")
    reports = session.exchange.cancel(order["code"], order_id, session.moment)
    Books(uow, order["code"]).book(reports, session.moment.date())
    gateway.give_back(uow, session)
    return order_json(_require(uow.connection, customer_id, order_id))


def advance(uow: UnitOfWork) -> list[str]:
    """Move every instrument's book to now (行情推进) and book what the phases crossed did: the
    auctions' trades, the orders left at the close expired. What a scheduler calls at 09:25, 15:00
    and before the next day opens; any order or cancel does the same for its own instrument."""
    moved = []
    for row in instruments.list_all(uow.connection):
        session = gateway.take(uow, row["code"])
        _catch_up(uow, session)
        gateway.give_back(uow, session)
        moved.append(row["code"])
    return moved


def close_day(uow: UnitOfWork, day: dt.date) -> list[str]:
    """Move every instrument's book still on `day` (or on a day before it) to that day's end (收盘) and book what
    the close did: the closing auction's trades, the orders left open expired and their fees charged, all with
    their day. The next day is not opened (its registrar's moment stays with the next call that moves the book).
    What clearing calls first: the day's fees are all booked before its levies are paid on. A book already on a
    later day is left alone."""
    closed = []
    for row in instruments.list_all(uow.connection):
        if row["book_moment"] is None or gateway.exchange_moment(row["book_moment"]).date() > day:
            continue
        session = gateway.take(uow, row["code"])
        last_day = session.exchange.day
        end = dt.datetime.combine(last_day, dt.time(23, 59, 59))
        Books(uow, row["code"]).book(session.exchange.advance(end), last_day)
        session.moment = end  # where the book now stands, not the call's moment: the next call opens the next day
        gateway.give_back(uow, session)
        closed.append(row["code"])
    return closed


def apply_corporate_actions(uow: UnitOfWork) -> list[str]:
    """Move the books of the instruments whose ex-date has come to now, which applies their
    distributions (权益分派); what end of day calls. Again, or before the ex-date, moves nothing."""
    moved = []
    for code in distributions.due_codes(uow.connection, today()):
        session = gateway.take(uow, code)
        _catch_up(uow, session)
        gateway.give_back(uow, session)
        moved.append(code)
    return moved


# -- reading ---------------------------------------------------------------------------------------


def _find(connection: Connection, order_id: str) -> dict[str, Any] | None:
    row = connection.execute(select(orders).where(orders.c.id == order_id)).mappings().first()
    return dict(row) if row is not None else None


def _require(connection: Connection, customer_id: str, order_id: str) -> dict[str, Any]:
    row = _find(connection, order_id)
    if row is None or row["customer_id"] != customer_id:
        raise OrderNotFound(f"no order {order_id}")
    return row


def read_order(connection: Connection, customer_id: str, order_id: str) -> dict[str, Any]:
    return order_json(_require(connection, customer_id, order_id))


def list_orders(connection: Connection, customer_id: str, limit: int) -> list[dict[str, Any]]:
    accounts.require(connection, customer_id)
    query = (
        select(orders)
        .where(orders.c.customer_id == customer_id)
        .order_by(orders.c.created_at.desc(), orders.c.seq.desc())
        .limit(limit)
    )
    return [order_json(dict(r)) for r in connection.execute(query).mappings()]


def _price(code: str, ticks: int | None) -> str | None:
    return None if ticks is None else models.format_price(code, ticks)


def order_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "code": row["code"],
        "side": row["side"],
        "type": row["kind"],
        "price": _price(row["code"], row["price"]),
        "protect": _price(row["code"], row["protect"]),
        "quantity": row["quantity"],
        "filled": row["filled"],
        "cancelled": row["cancelled"],
        "value": format_minor(row["value"], 2),
        "frozen_cash": format_minor(row["frozen_cash"], 2),
        "frozen_shares": row["frozen_shares"],
        "commission": format_minor(row["commission"], 2),
        "stamp_duty": format_minor(row["stamp_duty"], 2),
        "transfer_fee": format_minor(row["transfer_fee"], 2),
        "status": row["status"],
        "trade_day": row["trade_day"].isoformat(),
        "created_at": clock.iso(row["created_at"]),
    }


def bought_on(connection: Connection, customer_id: str, code: str, day: dt.date) -> int:
    query = select(func.coalesce(func.sum(executions.c.quantity), 0)).where(
        executions.c.customer_id == customer_id,
        executions.c.code == code,
        executions.c.side == "buy",
        executions.c.trade_day == day,
    )
    return int(connection.execute(query).scalar_one())


def sellable_shares(connection: Connection, customer_id: str, code: str) -> int:
    """Shares sellable today (可卖): those held and not frozen, less those bought today (T+1)."""
    held = ledger_queries.available(connection, instruments.holder_account(code, customer_id)) or 0
    return max(0, held - bought_on(connection, customer_id, code, today()))


def list_positions(connection: Connection, customer_id: str) -> list[dict[str, Any]]:
    """Each holding (持仓): total, sellable today, frozen under sell orders, and its cost basis."""
    accounts.require(connection, customer_id)
    query = select(positions).where(positions.c.customer_id == customer_id).order_by(positions.c.code)
    answer = []
    for row in connection.execute(query).mappings():
        code = row["code"]
        held = ledger_queries.available(connection, instruments.holder_account(code, customer_id)) or 0
        frozen = ledger_queries.available(connection, instruments.frozen_shares_account(code, customer_id)) or 0
        if not held and not frozen:
            continue
        answer.append(
            {
                "code": code,
                "total": held + frozen,
                "available": sellable_shares(connection, customer_id, code),
                "frozen": frozen,
                "cost_basis": format_minor(row["cost"], 2),
            }
        )
    return answer


def summary(connection: Connection, customer_id: str) -> dict[str, Any]:
    account = accounts.require(connection, customer_id)
    return {**accounts.account_json(connection, account), "positions": list_positions(connection, customer_id)}


__all__ = ["OrderRequest", "cancel", "cost_of", "deposit_shares", "list_orders", "place", "summary"]
