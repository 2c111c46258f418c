"""What the brokerage API answers with (证券经纪): an instrument, a brokerage account and its summary, a
cash transfer (银证转账), an order (委托) and a position (持仓)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema, Timestamp

PRICE = r"^[0-9]+\.[0-9]{2,3}$"
Price = Field(pattern=PRICE, description="a price in CNY: two places for shares, three for ETFs (元)")
Shares = Field(ge=0, le=2**53 - 1, description="a number of shares (股)")


class Instrument(Schema):
    """A listed share (证券) as data; lots and the band come from its board's rules."""

    code: str = Field(pattern=r"^[0-9]{6}$")
    exchange: Literal["SSE", "SZSE"]
    board: Literal["main", "chinext", "star", "etf"]
    name: str
    listed_on: Day
    st: bool = Field(description="risk warning (风险警示, ST)")
    previous_close: str = Field(pattern=PRICE, description="前收盘价")
    units_ledger: str = Field(description="the unit ledger of its shares, SEC:<code>")


class InstrumentList(Schema):
    instruments: list[Instrument]


class InstrumentCodes(Schema):
    """The instruments whose books were moved to now."""

    codes: list[str]


class BrokerageAccount(Schema):
    """A brokerage account (证券账户) and its cash (客户交易结算资金)."""

    customer_id: str
    suitability_level: Literal["C1", "C2", "C3", "C4", "C5"] | None = Field(
        description="风险承受能力等级 from the customer's latest wealth questionnaire, while it is valid (now, not at "
        "the account's opening)"
    )
    chinext_permitted: bool = Field(description="创业板权限: granted by staff, never by the customer")
    star_permitted: bool = Field(description="科创板权限: granted by staff, never by the customer")
    commission_rate: str = Field(
        description="the commission rate (佣金费率): the platform's (0.00025) unless staff set another, at most 0.003"
    )
    cash: Money = Field(description="可用资金: what may buy now, today's sale proceeds included")
    withdrawable_cash: Money = Field(
        description="可取资金: what may go back to the wallet now, the cash less today's sale proceeds (T+1) that "
        "buys have not spent: a buy spends the day's proceeds first, so it leaves the lesser of what was "
        "withdrawable before it and the cash left"
    )
    frozen_cash: Money = Field(description="冻结资金: held for open orders")
    cash_account_id: str


class CashTransfer(Schema):
    """A transfer between the wallet and the brokerage cash (银证转账)."""

    id: str
    direction: Literal["in", "out"]
    amount: Money
    created_at: Timestamp


class StockOrder(Schema):
    """An order (委托) and what became of it; fees are booked when it ends."""

    id: str
    code: str
    side: Literal["buy", "sell"]
    type: Literal["limit", "best5_ioc", "best5_limit", "counterparty_best", "own_best", "ioc", "fok"]
    price: str | None = Price
    protect: str | None = Field(default=None, pattern=PRICE, description="SSE protective price")
    quantity: int = Shares
    filled: int = Shares
    cancelled: int = Shares
    value: Money = Field(description="成交金额")
    frozen_cash: Money
    frozen_shares: int = Shares
    commission: Money = Field(description="佣金")
    stamp_duty: Money = Field(description="印花税")
    transfer_fee: Money = Field(description="过户费")
    status: Literal["open", "filled", "cancelled", "expired"]
    trade_day: Day
    created_at: Timestamp


class StockOrderList(Schema):
    orders: list[StockOrder]


class StockPosition(Schema):
    """A holding (持仓): total shares, those sellable today (T+1), those frozen under sell orders."""

    code: str
    total: int = Shares
    available: int = Shares
    frozen: int = Shares
    cost_basis: Money = Field(description="持仓成本, fees of buys included")


class StockPositionList(Schema):
    positions: list[StockPosition]


class BrokerageSummary(BrokerageAccount):
    """The account with its positions (资产概览)."""

    positions: list[StockPosition]


class TradeStatementLine(Schema):
    """One order's line on the daily statement (交割单)."""

    order_id: str
    code: str
    name: str
    side: Literal["buy", "sell"]
    quantity: int
    average_price: str = Field(
        pattern=r"^[0-9]+\.[0-9]{2,3}$", description="成交均价: two places for shares, three (厘) for ETFs"
    )
    value: Money
    commission: Money
    stamp_duty: Money
    transfer_fee: Money
    net: str = Field(description="what the order did to the cash: negative for a buy (CNY, two places)")


class TradeStatement(Schema):
    """A customer's daily statement (交割单): every order that traded on the day, and the day's net cash."""

    customer_id: str
    trade_day: Day
    lines: list[TradeStatementLine]
    net: str = Field(description="the day's net cash from trading (CNY, two places, may be negative)")


class SecuritiesClearingRun(Schema):
    """A trading day cleared and settled (清算交收): the levies paid on. Its date is `business_date`, as in every
    end-of-day answer (`puhui.eod.answers`)."""

    business_date: Day
    stamp_duty_paid: Money
    transfer_fee_paid: Money
    already_done: bool = Field(description="the day had been cleared before: nothing moved again (the levies as paid)")


class StockQuoteLevel(Schema):
    price: str = Price
    shares: int


class StockQuote(Schema):
    """An instrument's quote (五档行情): the last trade, the day's band and the five best prices a side."""

    code: str
    name: str
    phase: str = Field(description="the market's phase now (opening_auction, continuous, closed, ...)")
    last_price: str | None = Field(pattern=PRICE)
    previous_close: str = Field(pattern=PRICE)
    limit_up: str | None = Field(
        pattern=PRICE, description="涨停价; none in a new listing's first days without a limit"
    )
    limit_down: str | None = Field(pattern=PRICE, description="跌停价")
    bids: list[StockQuoteLevel]
    asks: list[StockQuoteLevel]


class StockBar(Schema):
    start: str = Field(description="the bar's first minute, China time (ISO 8601 without a zone)")
    open: str = Price
    high: str = Price
    low: str = Price
    close: str = Price
    volume: int
    turnover: Money


class StockBars(Schema):
    """An instrument's bars of a trading day (K线)."""

    code: str
    trade_day: Day
    minutes: int
    bars: list[StockBar]
