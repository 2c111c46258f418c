"""The securities package's refusals, each with a stable code (RFC 9457 problems over HTTP)."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput


class InstrumentInvalid(InvalidInput):
    code = "instrument_invalid"
    title = "The instrument's data is not valid"


class LotSizeInvalid(InvalidInput):
    code = "lot_size_invalid"
    title = "The quantity breaks the board's lot rule"


class PriceOffTick(InvalidInput):
    code = "price_off_tick"
    title = "The price is not a multiple of the instrument's tick (0.01 CNY for shares, 0.001 for funds)"


class PriceRequired(InvalidInput):
    code = "price_required"
    title = "A limit order needs a price"


class PriceNotAllowed(InvalidInput):
    code = "price_not_allowed"
    title = "A market order takes no price (an SSE protective price goes in `protect`)"


class ProtectNotAllowed(InvalidInput):
    code = "protect_not_allowed"
    title = "Only a market order takes a protective price"


class ProtectNotOnExchange(ProtectNotAllowed):
    code = "protect_not_on_exchange"
    title = "A protective price (保护限价) is SSE's: SZSE market orders take none"


class OrderTypeNotOnExchange(InvalidInput):
    code = "order_type_not_on_exchange"
    title = (
        "The instrument's exchange does not take this kind of market order: best-five-then-limit "
        "(最优五档即时成交剩余转限价) is SSE's, immediate-or-cancel and fill-or-kill (即时成交剩余撤销, "
        "全额成交或撤销) are SZSE's"
    )


class PriceNotPositive(InvalidInput):
    code = "price_not_positive"
    title = "A price must be above zero"


class PriceInvalid(InvalidInput):
    code = "price_invalid"
    title = 'The price is not a decimal string of CNY: digits, at most seven before the point and four after ("10.50")'


class QuantityRequired(InvalidInput):
    code = "quantity_required"
    title = "An order needs a quantity of shares"


class QuantityInvalid(InvalidInput):
    code = "quantity_invalid"
    title = "The quantity is not a whole number of shares"


class QuantityNotPositive(InvalidInput):
    code = "quantity_not_positive"
    title = "The quantity must be at least one share"


class PriceOutsideBand(InvalidInput):
    code = "price_outside_band"
    title = "The price is outside the day's price-limit band"


class OrderTooLarge(InvalidInput):
    code = "order_too_large"
    title = "The quantity is above the board's largest single order"


class CommissionRateInvalid(InvalidInput):
    code = "commission_rate_invalid"
    title = "The commission rate is negative or above the 0.3% cap"


class SharesNotSellable(Conflict):
    code = "shares_not_sellable"
    title = "Not enough shares sellable today (T+1: shares bought today sell from the next trading day)"


class UnknownInstrument(InvalidInput):
    code = "unknown_instrument"
    title = "No such instrument is listed"


class MarketClosed(Conflict):
    code = "market_closed"
    title = "The market does not take this order now"


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"
    title = "The order cannot be cancelled now"


class BarFileInvalid(InvalidInput):
    code = "bar_file_invalid"
    title = "The historical bar file cannot be read"


class CorporateActionInvalid(InvalidInput):
    code = "corporate_action_invalid"
    title = "The corporate action's terms are not valid"


class NotATradingDay(InvalidInput):
    code = "not_a_trading_day"
    title = "The date is not a trading day of the exchange"


class NoTradingDay(InvalidInput):
    code = "no_trading_day"
    title = "No trading day falls in the dates asked for"
