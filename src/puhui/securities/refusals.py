"""The brokerage's refusals (证券经纪), each with a stable code (RFC 9457 problems over HTTP)."""

from __future__ import annotations

from puhui.errors import Conflict, Forbidden, InvalidInput, NotFound


class InsufficientCash(Conflict):
    code = "insufficient_cash"
    title = "The brokerage cash (可用资金) does not cover the order or the transfer"


class CashNotWithdrawable(Conflict):
    code = "cash_not_withdrawable"
    title = (
        "More than the withdrawable cash (可取资金): a sale's proceeds buy at once but go back to the wallet only "
        "from the next trading day (T+1)"
    )


class BoardNotPermitted(Forbidden):
    code = "board_not_permitted"
    title = "The account is not permitted to buy on this board (创业板/科创板权限)"


class AccountNotOpen(NotFound):
    code = "securities_account_not_found"
    title = "The customer has no brokerage account (证券账户)"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "No such order"


class InstrumentExists(Conflict):
    code = "instrument_exists"
    title = "The instrument is listed with other data"


class MarketOrderUnbounded(InvalidInput):
    code = "market_order_unbounded"
    title = "A market buy of a share without a price limit needs a protective price"


class InstrumentNotFound(NotFound):
    code = "instrument_not_found"
    title = "No such instrument is listed"


class CorporateActionExists(Conflict):
    code = "corporate_action_exists"
    title = "Another distribution of the share has this ex-date"


class BoardPermissionNotEligible(Conflict):
    code = "board_permission_not_eligible"
    title = (
        "The account's average daily assets over the 20 trading days before the application (前20个交易日日均资产) "
        "are below the board's threshold (创业板 100,000 CNY, 科创板 500,000 CNY)"
    )


class SuitabilityAssessmentRequired(Conflict):
    code = "suitability_assessment_required"
    title = (
        "No current risk assessment (风险测评): take the questionnaire (GET /v1/wealth/questionnaire, then "
        "POST /v1/wealth/questionnaire/answers) before opening a brokerage account or buying"
    )
