"""Brokerage over HTTP under /v1/securities (证券经纪): operators list instruments; a customer opens a
brokerage account, moves cash between the wallet and it (银证转账), places and cancels orders through
the exchange simulator, and reads orders, positions and the account summary. A customer sees only
their own orders (another's is 404). Market hours are China time (`puhui.clock`): outside them an
order is a 409 `market_closed`.

An account opens for a customer with a current risk assessment (the wealth questionnaire, else 409
`suitability_assessment_required`), on the platform's terms: its commission rate and no ChiNext/STAR
permission; the opening body takes neither (an unknown field is a 422). A buy needs the customer's level
to cover the security's risk (`securities.suitability`: shares R3, ChiNext/STAR and ST shares R4; else 403
`unsuitable_product`). Operators set a customer's rate and grant or revoke a board permission
(`securities.permissions`: a grant needs the customer's risk level to cover the board's R4 shares, C4 or
above, else 403 `unsuitable_product`, and checks the account's average daily assets over the 20 trading days
before it against the board's threshold, else 409 `board_permission_not_eligible`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator
from sqlalchemy import Connection

from puhui.api.deps import Caller, Customer, EngineDep, Operator
from puhui.api.fields import AmountStr, ClientId, Ident, Limit
from puhui.api.mutations import Outcome, client_id_of, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.money import parse_minor
from puhui.securities import accounts, instruments, models, orders, permissions
from puhui.securities.book import OrderType
from puhui.securities.errors import (
    OrderTooLarge,
    PriceInvalid,
    PriceNotPositive,
    PriceOffTick,
    PriceRequired,
    QuantityInvalid,
    QuantityNotPositive,
    QuantityRequired,
)
from puhui.securities.schemas import (
    BrokerageAccount,
    BrokerageSummary,
    CashTransfer,
    Instrument,
    InstrumentCodes,
    InstrumentList,
    StockOrder,
    StockOrderList,
    StockPositionList,
)

router = APIRouter(prefix="/v1/securities", tags=["securities"])

PRICE_PATTERN = r"^(0|[1-9][0-9]{0,6})(\.[0-9]{1,4})?$"
DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
PRICE_DESCRIPTION = 'a price in CNY, e.g. "10.50"; off the tick (0.01; 0.001 for an ETF) is a 422 `price_off_tick`'
MAX_QUANTITY = 10_000_000


def _price_text(field: str) -> BeforeValidator:
    """A price as sent, refused for what is wrong with it before the schema's pattern could say only
    "failed validation": not a decimal string (`price_invalid`), zero or below (`price_not_positive`),
    finer than any tick (`price_off_tick`; the instrument's own tick is checked with its code)."""

    def check(value: object) -> object:
        if not isinstance(value, str) or not DECIMAL.fullmatch(value):
            shown = repr(value) if isinstance(value, str) else f"a JSON {type(value).__name__}"
            raise PriceInvalid(f"{field} {shown[:40]} is not a decimal string of CNY", field=field)
        amount = Decimal(value)
        if amount <= 0:
            raise PriceNotPositive(f"{field} {value[:40]} is not above zero", field=field)
        whole, _, places = value.partition(".")
        if len(places) > 4 and amount * models.ETF_SCALE != (amount * models.ETF_SCALE).to_integral_value():
            raise PriceOffTick(f"{field} {value[:40]} is finer than any tick (0.01; 0.001 for an ETF)", field=field)
        if len(places) > 4 or len(whole) > 7 or (len(whole) > 1 and whole.startswith("0")):
            raise PriceInvalid(
                f"{field} {value[:40]}: at most seven digits before the point, none of them a leading zero, "
                "and four after",
                field=field,
            )
        return value

    return BeforeValidator(check)


def _quantity(value: object) -> object:
    """A quantity as sent: a whole number of shares (610.0 is 610; "610", true and 610.5 are not), at least 1."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        shown = repr(value)[:40] if isinstance(value, (str, float)) else f"a JSON {type(value).__name__}"
        raise QuantityInvalid(f"quantity {shown} is not a whole number of shares", field="quantity")
    if value <= 0:
        raise QuantityNotPositive(f"quantity {value} is not a positive number of shares", field="quantity")
    if value > MAX_QUANTITY:
        raise OrderTooLarge(f"{value} shares is above any board's largest single order", field="quantity")
    return value


PRICE_FIELD = Field(max_length=12, pattern=PRICE_PATTERN, description=PRICE_DESCRIPTION)
PriceStr = Annotated[StrictStr, PRICE_FIELD, _price_text("price")]
ProtectStr = Annotated[StrictStr, PRICE_FIELD, _price_text("protect")]
Code = Annotated[StrictStr, Field(pattern=r"^[0-9]{6}$", description="a six-digit A-share code")]
# above 0 and at most 0.003, six places at most: 0.001–0.002999, 0.003(000), 0.0001–0.000999, 0.00001–, 0.000001–
RATE_PATTERN = r"^0\.00([12][0-9]{0,3}|30{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9])$"


class InstrumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    exchange: Literal["SSE", "SZSE"]
    board: Literal["main", "chinext", "star", "etf"]
    name: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
    listed_on: Annotated[
        dt.date,
        Field(
            ge=dt.date(1990, 1, 1),
            le=dt.date(2099, 12, 31),
            description="上市日期, 1990 to 2099",
            json_schema_extra={"pattern": r"^(199[0-9]|20[0-9]{2})-[0-9]{2}-[0-9]{2}$"},
        ),
    ]
    st: StrictBool = False
    previous_close: AmountStr


class BrokerageAccountIn(BaseModel):
    """Opening takes no terms: the rate is the platform's and board permissions are granted by staff."""

    model_config = ConfigDict(extra="forbid")


class CommissionRateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    commission_rate: Annotated[
        StrictStr,
        Field(
            max_length=8,
            pattern=RATE_PATTERN,
            description="佣金费率: above 0 and at most 0.003 (0.3%), six places at most; the 5.00 CNY minimum stays",
        ),
    ]


class BoardPermissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    board: Literal["chinext", "star"] = Field(description="创业板 or 科创板")
    permitted: StrictBool = Field(
        description="true grants: the customer's current risk level must cover the board's shares (R4: C4 or "
        "above; else 403 `unsuitable_product`, or 409 `suitability_assessment_required` without one); the "
        "account's average daily assets over the 20 trading days before today "
        "(前20个交易日日均资产, from the daily close snapshots clearing takes; a day without one counts as zero) "
        "must reach the board's threshold (100,000.00 CNY ChiNext, 500,000.00 CNY STAR; else 409 "
        "`board_permission_not_eligible`) and the operator vouches for 24 months of trading experience; false "
        "revokes"
    )


class CashTransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Literal["in", "out"] = Field(description="in: wallet → brokerage cash; out: back to the wallet")
    amount: AmountStr
    client_id: ClientId | None = None


class StockOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    side: Literal["buy", "sell"]
    quantity: Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY, description="shares"), BeforeValidator(_quantity)]
    type: Literal["limit", "best5_ioc", "best5_limit", "counterparty_best", "own_best", "ioc", "fok"] = Field(
        default="limit",
        description="limit, or a market order the share's exchange takes (else order_type_not_on_exchange): "
        "best5_limit on SSE only, ioc and fok on SZSE only, the others on both",
    )
    price: PriceStr | None = Field(default=None, description="the limit price; required for a limit order only")
    protect: ProtectStr | None = Field(
        default=None, description="SSE protective price (保护限价) of a market order (SZSE: protect_not_on_exchange)"
    )
    client_id: ClientId | None = None

    @model_validator(mode="before")
    @classmethod
    def _named_omissions(cls, data: Any) -> Any:
        """What an order leaves out, named (a schema's "field required" would not say which rule): no
        quantity is `quantity_required`; a limit order's empty price (a form's blank field) `price_required`."""
        if isinstance(data, dict):
            if data.get("quantity") is None:
                raise QuantityRequired("an order needs a quantity of shares", field="quantity")
            if data.get("price") == "" and data.get("type", "limit") == "limit":
                raise PriceRequired("a limit order needs a price", field="price")
        return data


def _client_id(request: Request, given: str | None) -> str:
    chosen = client_id_of(request, given)
    return chosen if len(chosen) <= 64 else hashlib.sha256(chosen.encode()).hexdigest()


def _ticks(code: str, text: str | None, field: str = "price") -> int | None:
    """A price in whole ticks (fen, or 厘 for an ETF): a price between ticks is `price_off_tick`."""
    if text is None:
        return None
    scale = models.price_scale_of(code)
    try:
        ticks = Decimal(text) * scale
    except InvalidOperation as error:  # the validators let through only decimals
        raise PriceInvalid(f"{field} {text[:40]!r} is not a number", field=field) from error
    if ticks != ticks.to_integral_value():
        raise PriceOffTick(f"{field} {text} is not a multiple of the tick {Decimal(1) / scale}", field=field)
    return int(ticks)


def _request(connection: Connection, body: StockOrderIn) -> orders.OrderRequest:
    """The order as the brokerage takes it; what is wrong with its type and prices is refused here, before
    the tick: a market order of a kind the share's exchange does not take (`order_type_not_on_exchange`,
    first, price or not), no price on a limit order (`price_required`), one on a market order
    (`price_not_allowed`), a protective price on a limit order (`protect_not_allowed`)."""
    kind = OrderType(body.type)
    orders.check_request(connection, body.code, kind, body.price, body.protect)
    return orders.OrderRequest(
        body.code,
        models.Side(body.side),
        body.quantity,
        _ticks(body.code, body.price),
        kind,
        _ticks(body.code, body.protect, "protect"),
    )


@router.post(
    "/instruments", status_code=201, summary="List a share (上市); the same again is a no-op", response_model=Instrument
)
async def list_instrument(body: InstrumentIn, request: Request, engine: EngineDep, principal: Operator) -> Response:
    instrument = models.Instrument(
        body.code, models.Exchange(body.exchange), models.Board(body.board), body.name, body.listed_on, body.st
    )
    close = _ticks(body.code, body.previous_close) or 0

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(
            201, Instrument.shape(instruments.instrument_json(instruments.list_instrument(uow, instrument, close)))
        )

    return await run_mutation(request, engine, principal, "securities.list_instrument", body.code, work)


@router.post(
    "/market/advance",
    summary="Move every book to now: auctions priced, the close's leftovers expired",
    response_model=InstrumentCodes,
)
async def advance_market(request: Request, engine: EngineDep, principal: Operator) -> Response:
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, InstrumentCodes.shape({"codes": orders.advance(uow)}))

    return await run_mutation(request, engine, principal, "securities.advance_market", None, work)


@router.get("/instruments", summary="The listed shares", response_model=InstrumentList)
async def read_instruments(engine: EngineDep, principal: Caller) -> dict[str, Any]:
    return await _read(
        engine, lambda c: {"instruments": [instruments.instrument_json(r) for r in instruments.list_all(c)]}
    )


@router.post(
    "/accounts",
    status_code=201,
    summary="Open a brokerage account (证券开户; needs a current risk questionnaire)",
    response_model=BrokerageAccount,
)
async def open_account(body: BrokerageAccountIn, request: Request, engine: EngineDep, principal: Customer) -> Response:
    def work(uow: UnitOfWork) -> Outcome:
        opened = accounts.find(uow.connection, principal.id) is None
        return Outcome(201 if opened else 200, BrokerageAccount.shape(accounts.open_account(uow, principal.id)))

    return await run_mutation(request, engine, principal, "securities.open_account", principal.id, work)


@router.post(
    "/accounts/{customer_id}/commission",
    summary="Set a customer's commission rate (佣金费率; staff)",
    response_model=BrokerageAccount,
)
async def set_commission_rate(
    customer_id: Ident, body: CommissionRateIn, request: Request, engine: EngineDep, principal: Operator
) -> Response:
    rate = Decimal(body.commission_rate)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, BrokerageAccount.shape(permissions.set_commission_rate(uow, customer_id, rate)))

    return await run_mutation(request, engine, principal, "securities.set_commission_rate", customer_id, work)


@router.post(
    "/accounts/{customer_id}/permissions",
    summary="Grant or revoke a customer's ChiNext or STAR permission (创业板/科创板权限开通; staff)",
    response_model=BrokerageAccount,
)
async def set_board_permission(
    customer_id: Ident, body: BoardPermissionIn, request: Request, engine: EngineDep, principal: Operator
) -> Response:
    board = models.Board(body.board)
    action = f"securities.{'grant' if body.permitted else 'revoke'}_{body.board}"

    def work(uow: UnitOfWork) -> Outcome:
        answer = permissions.set_board_permission(uow, customer_id, board, body.permitted)
        return Outcome(200, BrokerageAccount.shape(answer))

    return await run_mutation(request, engine, principal, action, customer_id, work)


@router.get("/account", summary="The account, its cash and positions (资产概览)", response_model=BrokerageSummary)
async def read_account(engine: EngineDep, principal: Customer) -> dict[str, Any]:
    return await _read(engine, lambda c: orders.summary(c, principal.id))


@router.post(
    "/transfers",
    status_code=201,
    summary="Move cash between the wallet and the brokerage (银证转账)",
    description="Out to the wallet at most the withdrawable cash (可取资金, `withdrawable_cash` of the account): "
    "a sale's proceeds buy at once but are withdrawable from the next trading day (T+1), so more is a 409 "
    "`cash_not_withdrawable` (more than the cash at all, `insufficient_cash`); a refusal changes nothing.",
    response_model=CashTransfer,
)
async def transfer(body: CashTransferIn, request: Request, engine: EngineDep, principal: Customer) -> Response:
    amount = parse_minor(body.amount, 2)
    client_id = _client_id(request, body.client_id)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, CashTransfer.shape(accounts.transfer(uow, principal.id, body.direction, amount, client_id)))

    return await run_mutation(request, engine, principal, f"securities.transfer_{body.direction}", principal.id, work)


@router.post(
    "/orders",
    status_code=201,
    summary="Place an order (委托) through the exchange simulator",
    response_model=StockOrder,
)
async def place_order(body: StockOrderIn, request: Request, engine: EngineDep, principal: Customer) -> Response:
    client_id = _client_id(request, body.client_id)

    def work(uow: UnitOfWork) -> Outcome:
        order = _request(uow.connection, body)  # the kind on the share's exchange needs the listing
        return Outcome(201, StockOrder.shape(orders.place(uow, principal.id, order, client_id)))

    return await run_mutation(request, engine, principal, "securities.place_order", body.code, work)


@router.get("/orders", summary="The customer's orders, newest first", response_model=StockOrderList)
async def read_orders(engine: EngineDep, principal: Customer, limit: Limit = 50) -> dict[str, Any]:
    return await _read(engine, lambda c: {"orders": orders.list_orders(c, principal.id, limit)})


@router.get("/orders/{order_id}", summary="One of the customer's orders", response_model=StockOrder)
async def read_order(order_id: Ident, engine: EngineDep, principal: Customer) -> dict[str, Any]:
    return await _read(engine, lambda c: orders.read_order(c, principal.id, order_id))


@router.post("/orders/{order_id}/cancel", summary="Cancel what is left of an order (撤单)", response_model=StockOrder)
async def cancel_order(order_id: Ident, request: Request, engine: EngineDep, principal: Customer) -> Response:
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, StockOrder.shape(orders.cancel(uow, principal.id, order_id)))

    return await run_mutation(request, engine, principal, "securities.cancel_order", order_id, work)


@router.get(
    "/positions",
    summary="The customer's holdings (持仓): total, sellable today, frozen, cost",
    response_model=StockPositionList,
)
async def read_positions(engine: EngineDep, principal: Customer) -> dict[str, Any]:
    return await _read(engine, lambda c: {"positions": orders.list_positions(c, principal.id)})
