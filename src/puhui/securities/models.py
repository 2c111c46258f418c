"""A-share trading rules as values (no I/O): instruments and their boards, the lot (交易单位), the tick
(最小价格变动单位), the price-limit band (涨跌幅限制), the largest single order, and the fees of a trade.

Prices are integers in the instrument's tick: fen for shares (0.01 CNY, `price_scale` 100) and 厘 for
exchange-traded funds (交易型开放式指数基金, ETF: 0.001 CNY, `price_scale` 1000); quantities whole
shares or fund units, money integer fen (a trade's value is rounded half-up to the fen).
Sources: the SSE and SZSE trading rules (上海/深圳证券交易所交易规则, 2023 editions) and the STAR
Market and ChiNext special rules (科创板/创业板交易特别规定): 100-share lots on the main board and
ChiNext, at least 200 then steps of 1 on STAR, an odd remainder sold whole; ±10% on the main board,
±20% on ChiNext and STAR, ±5% for risk-warning (ST) stocks on the main board until 2025-07-07 and
±10% from then; no limit during a stock's first five trading days on ChiNext and STAR (and on the main
board for listings under the registration system, from 2023-04-10).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from puhui.securities.errors import (
    CommissionRateInvalid,
    InstrumentInvalid,
    LotSizeInvalid,
    OrderTooLarge,
    PriceNotPositive,
    PriceOffTick,
    PriceOutsideBand,
    QuantityNotPositive,
)

TICK = 1  # fen: 0.01 CNY
LOT = 100
STAR_MIN = 200
NO_LIMIT_DAYS = 5  # 上市首5个交易日不设涨跌幅限制
MAIN_BOARD_REGISTRATION = dt.date(2023, 4, 10)  # 主板注册制首批上市
ST_BAND_WIDENED = dt.date(2025, 7, 7)  # 主板风险警示股票涨跌幅由5%调整为10%
# The commission (佣金): the platform's rate for every new account, and the cap no rate may pass (0.3%).
DEFAULT_COMMISSION_RATE = Decimal("0.00025")
MAX_COMMISSION_RATE = Decimal("0.003")


class Exchange(enum.StrEnum):
    sse = "SSE"  # 上海证券交易所
    szse = "SZSE"  # 深圳证券交易所


class Board(enum.StrEnum):
    main = "main"  # 主板
    chinext = "chinext"  # 创业板 (SZSE 300/301)
    star = "star"  # 科创板 (SSE 688/689)
    etf = "etf"  # 交易型开放式指数基金: 100-unit lots, tick 0.001, ±10% (±20% on growth-board indexes), no levies


class Side(enum.StrEnum):
    buy = "buy"
    sell = "sell"


# Code prefixes of shares on each exchange's boards.
PREFIXES: dict[tuple[Exchange, Board], tuple[str, ...]] = {
    (Exchange.sse, Board.main): ("600", "601", "603", "605"),
    (Exchange.sse, Board.star): ("688", "689"),
    (Exchange.szse, Board.main): ("000", "001", "002", "003"),
    (Exchange.szse, Board.chinext): ("300", "301"),
    (Exchange.sse, Board.etf): ("510", "511", "512", "513", "515", "516", "517", "518", "560", "561", "562", "588"),
    (Exchange.szse, Board.etf): ("159",),
}
ETF_PREFIXES = PREFIXES[(Exchange.sse, Board.etf)] + PREFIXES[(Exchange.szse, Board.etf)]
STOCK_SCALE, ETF_SCALE = 100, 1000  # ticks per CNY: fen for shares, 厘 for ETFs

# The largest quantity of one limit order (单笔申报最大数量) and of one market order.
MAX_LIMIT_ORDER = {Board.main: 1_000_000, Board.chinext: 300_000, Board.star: 100_000, Board.etf: 1_000_000}
MAX_MARKET_ORDER = {Board.main: 1_000_000, Board.chinext: 150_000, Board.star: 50_000, Board.etf: 1_000_000}


@dataclass(frozen=True, slots=True)
class Instrument:
    """A listed share as data (证券): its code, where it trades and what limits it."""

    code: str
    exchange: Exchange
    board: Board
    name: str
    listed_on: dt.date
    st: bool = False  # 风险警示 (ST / *ST)

    def __post_init__(self) -> None:
        if len(self.code) != 6 or not self.code.isdigit():
            raise InstrumentInvalid(f"instrument code {self.code!r} is not six digits")
        prefixes = PREFIXES.get((self.exchange, self.board))
        if prefixes is None:
            raise InstrumentInvalid(f"{self.exchange.value} has no {self.board.value} board")
        if not self.code.startswith(prefixes):
            raise InstrumentInvalid(f"{self.code} is not a {self.exchange.value} {self.board.value} share code")

    @property
    def price_scale(self) -> int:
        """Ticks per CNY: 100 (fen) for shares, 1000 (厘) for ETFs."""
        return ETF_SCALE if self.board is Board.etf else STOCK_SCALE


def is_etf(code: str) -> bool:
    """An ETF's code (by its exchange's fund prefixes), told without reading the instrument."""
    return code.startswith(ETF_PREFIXES)


def price_scale_of(code: str) -> int:
    return ETF_SCALE if is_etf(code) else STOCK_SCALE


def trade_value(code: str, price: int, quantity: int) -> int:
    """A trade's value in fen (成交金额): price × quantity, an ETF's 厘 rounded half-up to the fen."""
    scale = price_scale_of(code)
    if scale == STOCK_SCALE:
        return price * quantity
    return (price * quantity * STOCK_SCALE * 2 + scale) // (2 * scale)


# ETFs tracking a ChiNext or STAR index take those boards' ±20% (跟踪创业板、科创板指数的ETF): every SSE
# 588 fund (科创50 and its kin), and on SZSE the ChiNext index funds listed here.
WIDE_BAND_ETF_PREFIXES = ("588",)
WIDE_BAND_ETFS = frozenset({"159915", "159949"})  # 创业板ETF, 创业板50ETF


def band_ratio(instrument: Instrument, day: dt.date) -> Decimal:
    """The day's price-limit ratio (涨跌幅限制比例) of the instrument's board and ST status."""
    if instrument.board is Board.etf:
        wide = instrument.code in WIDE_BAND_ETFS or instrument.code.startswith(WIDE_BAND_ETF_PREFIXES)
        return Decimal("0.20") if wide else Decimal("0.10")
    if instrument.board is not Board.main:
        return Decimal("0.20")
    if instrument.st and day < ST_BAND_WIDENED:
        return Decimal("0.05")
    return Decimal("0.10")


def has_price_limit(instrument: Instrument, trading_day_number: int) -> bool:
    """False during the first five trading days of a listing without limit (trading_day_number counts
    from 1 on the listing day)."""
    if trading_day_number > NO_LIMIT_DAYS or instrument.board is Board.etf:
        return True
    if instrument.board is Board.main:
        return instrument.listed_on < MAIN_BOARD_REGISTRATION
    return False


def round_to_tick(value: Decimal) -> int:
    """A price in fen, rounded half-up to the tick (四舍五入)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Band:
    """The day's lowest and highest valid prices in fen (跌停价 / 涨停价), None where there is no limit."""

    low: int | None
    high: int | None

    def contains(self, price: int) -> bool:
        return (self.low is None or price >= self.low) and (self.high is None or price <= self.high)


def price_band(instrument: Instrument, previous_close: int, day: dt.date, trading_day_number: int) -> Band:
    """Previous close × (1 ± limit), each rounded to the tick."""
    if not has_price_limit(instrument, trading_day_number):
        return Band(None, None)
    ratio = band_ratio(instrument, day)
    close = Decimal(previous_close)
    return Band(low=max(TICK, round_to_tick(close * (1 - ratio))), high=round_to_tick(close * (1 + ratio)))


def check_price(price: int, band: Band, scale: int = STOCK_SCALE, field: str = "price") -> None:
    """A limit price (or a protective price, `field` "protect") is a positive whole number of ticks inside
    the band."""
    if price <= 0:
        raise PriceNotPositive(f"{field} {_cny(price, scale)} is not above zero", field=field)
    if price % TICK:
        raise PriceOffTick(f"{field} {price} is not a multiple of the tick", field=field)
    if not band.contains(price):
        low, high, at = _cny(band.low, scale), _cny(band.high, scale), _cny(price, scale)
        raise PriceOutsideBand(f"{field} {at} is outside the band {low}–{high}", field=field)


def check_buy_quantity(board: Board, quantity: int, market: bool = False) -> None:
    """Buys in 100-share lots; on STAR at least 200 shares, then any whole number."""
    check_size(board, quantity, market)
    if board is Board.star:
        if quantity < STAR_MIN:
            raise LotSizeInvalid(f"a STAR buy is at least {STAR_MIN} shares, not {quantity}", field="quantity")
    elif quantity % LOT:
        raise LotSizeInvalid(f"a buy is a multiple of {LOT} shares, not {quantity}", field="quantity")


def check_sell_quantity(board: Board, quantity: int, holding: int, market: bool = False) -> None:
    """Sells as buys, except that a remainder below the minimum (零股) is sold whole, in one order."""
    check_size(board, quantity, market)
    if quantity == holding:
        return
    if board is Board.star:
        if quantity < STAR_MIN:
            raise LotSizeInvalid(f"a STAR sell below {STAR_MIN} shares must sell the whole {holding}", field="quantity")
        return
    if quantity % LOT:
        odd = holding % LOT
        whole = f"; the odd {odd} shares of the holding are sold together, in one order" if odd else ""
        raise LotSizeInvalid(f"sell {LOT}-share lots, not {quantity} of {holding}{whole}", field="quantity")


def check_size(board: Board, quantity: int, market: bool) -> None:
    if quantity <= 0:
        raise QuantityNotPositive(f"quantity {quantity} is not a positive number of shares", field="quantity")
    largest = (MAX_MARKET_ORDER if market else MAX_LIMIT_ORDER)[board]
    if quantity > largest:
        raise OrderTooLarge(f"{quantity} shares is above the largest single order of {largest}", field="quantity")


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """What a trade costs (交易费用), rates of the traded value. The broker's commission (佣金) is the
    account's rate, at most 0.3%, at least 5 CNY per order; stamp duty (印花税) 0.05% on sells only
    (since 2023-08-28); the transfer fee (过户费) 0.001% both sides; the exchange's handling fee (经手费)
    is data (0.00341% today), and so is the regulator's fee (证管费, 0.002%).

    ETFs pay no stamp duty and no transfer fee; their commission is the account's, with its minimum
    (some brokers waive it for ETFs: that would be a schedule with `commission_minimum` 0). The handling
    fee on fund trades is data too (0.004%, an assumption from broker fee tables, not an exchange
    notice checked here). Both exchange fees are passed through inside the commission, as broker
    statements print them (佣金 includes 规费), so the customer pays commission, stamp duty and
    transfer fee and the broker pays the exchange out of its commission."""

    commission_rate: Decimal = DEFAULT_COMMISSION_RATE
    commission_minimum: int = 5_00
    stamp_duty_rate: Decimal = Decimal("0.0005")
    transfer_fee_rate: Decimal = Decimal("0.00001")
    handling_fee_rate: Decimal = Decimal("0.0000341")
    regulator_fee_rate: Decimal = Decimal("0.00002")
    etf_handling_fee_rate: Decimal = Decimal("0.00004")

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.commission_rate <= MAX_COMMISSION_RATE:
            raise CommissionRateInvalid(f"commission rate {self.commission_rate} is outside 0–0.3%")


@dataclass(frozen=True, slots=True)
class Fees:
    """The fees of one order's fills, each rounded half-up to the fen."""

    commission: int
    stamp_duty: int
    transfer_fee: int

    @property
    def total(self) -> int:
        return self.commission + self.stamp_duty + self.transfer_fee


def _fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def trade_fees(schedule: FeeSchedule, side: Side, value: int, etf: bool = False) -> Fees:
    """The fees of an order whose fills came to `value` fen. Each fee is computed on the whole order's
    value and rounded once, as brokers print them on the 交割单; the exchange's and regulator's fees
    are part of the commission (they are paid out of it), so they do not add to what the customer pays."""
    if value <= 0:
        return Fees(0, 0, 0)
    amount = Decimal(value)
    commission = max(_fen(amount * schedule.commission_rate), schedule.commission_minimum)
    if etf:
        return Fees(commission=commission, stamp_duty=0, transfer_fee=0)
    stamp = _fen(amount * schedule.stamp_duty_rate) if side is Side.sell else 0
    return Fees(commission=commission, stamp_duty=stamp, transfer_fee=_fen(amount * schedule.transfer_fee_rate))


def exchange_fees(schedule: FeeSchedule, value: int, etf: bool = False) -> tuple[int, int]:
    """The handling fee and the regulator's fee the broker pays the exchange out of its commission."""
    amount = Decimal(value)
    handling = schedule.etf_handling_fee_rate if etf else schedule.handling_fee_rate
    return _fen(amount * handling), _fen(amount * schedule.regulator_fee_rate)


def format_price(code: str, ticks: int) -> str:
    """A price as a decimal string in CNY: two places for shares, three for ETFs."""
    return _cny(ticks, price_scale_of(code))


def _cny(ticks: int | None, scale: int = STOCK_SCALE) -> str:
    places = 3 if scale == ETF_SCALE else 2
    return "none" if ticks is None else f"{Decimal(ticks) / scale:.{places}f}"
