"""Wealth errors, each with a stable machine code (RFC 9457 problems through the API)."""

from __future__ import annotations

from puhui.errors import Conflict, Forbidden, InvalidInput, NotFound


class UnknownFund(NotFound):
    code = "fund_not_found"
    title = "No such fund"


class FundClosed(Conflict):
    code = "fund_closed"
    title = "The fund takes no orders"


class WalletClassTooLow(Forbidden):
    """Only Class III wallets (Ⅲ类户) may buy investment products."""

    code = "wallet_class_too_low"
    title = "Only Class III wallets may buy investment products"


class InsufficientUnits(Conflict):
    code = "insufficient_units"
    title = "The holding does not have that many units"


class FastRedemptionCapExceeded(Conflict):
    code = "fast_redemption_cap_exceeded"
    title = "Fast (T+0) redemption is capped at 10,000 CNY per customer per day"


class InvalidFigures(InvalidInput):
    code = "invalid_fund_figures"
    title = "The fund manager's figures are not acceptable"


class OrderConflict(Conflict):
    code = "order_id_reused"
    title = "This client order id was already used for a different order"


class NoEligibleFunds(Conflict):
    code = "no_eligible_funds"
    title = "No fund on the platform is at or under the customer's risk level"


class InvalidNavFile(InvalidInput):
    code = "invalid_nav_file"
    title = "The NAV file is not acceptable"


class NavNotTradingDay(InvalidInput):
    """Funds are valued on trading days only (交易日, the exchanges' calendar): a NAV dated on a weekend or
    an exchange holiday refuses the whole file, naming the line."""

    code = "nav_not_trading_day"
    title = "A NAV is dated on a day that is not a trading day"


class ShortHoldingFeeInvalid(InvalidInput):
    """A fund's redemption fee band lying wholly under 7 days states less than the CSRC rule charges: at least
    1.5%, all of it into the fund's assets (`funds.pricing.redemption_rate`)."""

    code = "short_holding_fee_invalid"
    title = "A redemption fee band for holdings under 7 days must charge at least 1.5%, all of it to the fund"


class InvalidFundOrder(InvalidInput):
    code = "invalid_fund_order"
    title = "The fund order is not valid"


class InvalidAnswers(InvalidInput):
    code = "invalid_answers"
    title = "The questionnaire answers are not acceptable"


class QuestionnaireRequired(Forbidden):
    code = "questionnaire_required"
    title = "Take the risk questionnaire first (none on record, or it has expired)"


class AssessmentLimitReached(Conflict):
    code = "assessment_limit_reached"
    title = "The risk questionnaire may be taken at most a few times a day"


class UnsuitableProduct(Forbidden):
    code = "unsuitable_product"
    title = "The product's risk is above the customer's risk level"


class StatementRangeInvalid(InvalidInput):
    code = "statement_range_invalid"
    title = "A statement's range runs from a date to the same or a later one"
