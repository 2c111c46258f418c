"""Investor suitability at the brokerage (投资者适当性管理, 证券期货投资者适当性管理办法): the customer's level
from the wealth questionnaire (风险承受能力 C1–C5, `puhui.wealth.suitability`) against a security's risk
(产品风险等级 R1–R5), under the platform's one matching rule: a C_n customer may buy R1 to R_n
(`check_suitability`), with no exception on request.

- Opening a brokerage account (开户) needs a current assessment: a questionnaire taken and not expired
  (`level_of`). Without one: 409 `suitability_assessment_required`, naming the questionnaire's endpoints,
  and nothing is opened. Any level opens: the account also holds robo-advice portfolios of the lower
  levels and sells what it holds.
- Buying on the customer's own order needs a current assessment at or above the security's risk
  (`product_risk`): a main-board share R3 (中风险: so a C1 or C2 customer buys no shares), a
  risk-warning (ST) share and a ChiNext or STAR share R4 (中高风险); an ETF its rating in `ETF_RISKS`
  (money-market R1, treasuries R2, gold and broad indexes R3, the ChiNext index R4), any other ETF R4 if
  it tracks a ChiNext or STAR index, else R3. Refused: 409 `suitability_assessment_required` (none
  current) or 403 `unsuitable_product` (the wealth package's refusal, the same rule).
- Granting the ChiNext or STAR permission (`check_board_grant`, `securities.permissions`) needs a current
  level covering the board's shares (R4: C4 or above): 409 `suitability_assessment_required` without one,
  403 `unsuitable_product` below it, naming the level needed; a permission no buy could use is not granted.
- Selling is never refused for suitability (it takes risk off), nor is an order of a robo-advice
  portfolio: the portfolio was matched to the customer's level as a whole at subscription (组合适当性,
  `robo.service`).
"""

from __future__ import annotations

from sqlalchemy import Connection

from puhui.securities import models
from puhui.securities.refusals import SuitabilityAssessmentRequired
from puhui.wealth.errors import UnsuitableProduct
from puhui.wealth.suitability.service import CustomerLevel, ProductRisk, check_suitability, level_of

QUESTIONNAIRE = "POST /v1/wealth/questionnaire/answers"
# 产品风险等级 of the ETFs the platform lists (robo-advice's universe): a money-market ETF R1, treasuries
# R2, gold and the broad index funds R3, the growth board's index R4.
ETF_RISKS: dict[str, ProductRisk] = {
    "511880": ProductRisk.R1,
    "511010": ProductRisk.R2,
    "518880": ProductRisk.R3,
    "510300": ProductRisk.R3,
    "510500": ProductRisk.R3,
    "159915": ProductRisk.R4,
}


# The risk of every share on a growth board (创业板, 科创板): what its permission is for.
BOARD_RISKS: dict[models.Board, ProductRisk] = {models.Board.chinext: ProductRisk.R4, models.Board.star: ProductRisk.R4}


def product_risk(instrument: models.Instrument) -> ProductRisk:
    """The security's risk level: see the module's rule."""
    if instrument.board is models.Board.etf:
        if instrument.code in ETF_RISKS:
            return ETF_RISKS[instrument.code]
        wide = instrument.code in models.WIDE_BAND_ETFS or instrument.code.startswith(models.WIDE_BAND_ETF_PREFIXES)
        return ProductRisk.R4 if wide else ProductRisk.R3
    if instrument.board in BOARD_RISKS:
        return BOARD_RISKS[instrument.board]
    if instrument.board is models.Board.main and not instrument.st:
        return ProductRisk.R3
    return ProductRisk.R4


def require_assessment(connection: Connection, customer_id: str, doing: str) -> CustomerLevel:
    """The customer's current level, or 409 `suitability_assessment_required` for `doing` (what it is for)."""
    level = level_of(connection, customer_id)
    if level is None:
        raise SuitabilityAssessmentRequired(
            f"{doing} needs a current risk assessment (风险测评), and customer {customer_id} has none (never "
            f"taken, or expired): answer the questionnaire first ({QUESTIONNAIRE}; GET /v1/wealth/questionnaire "
            "has its questions)"
        )
    return level


def check_buy(connection: Connection, customer_id: str, instrument: models.Instrument) -> None:
    """Refuse the customer's own buy of a security above their current level, or without a current one."""
    level = require_assessment(connection, customer_id, f"buying {instrument.code}")
    risk = product_risk(instrument)
    verdict = check_suitability(level, risk)
    if not verdict.allowed:
        raise UnsuitableProduct(f"{instrument.code}: {verdict.reason}", level=level.name, product_risk=risk.name)


def check_board_grant(connection: Connection, customer_id: str, board: models.Board, name: str) -> None:
    """Refuse a board permission (权限开通) to a customer whose current level does not cover the board's shares
    (R4: C4 or above), or who has no current level: the permission would only lead to refused buys."""
    risk = BOARD_RISKS[board]
    level = require_assessment(connection, customer_id, f"the {name} permission")
    if not check_suitability(level, risk).allowed:
        raise UnsuitableProduct(
            f"the {name} permission needs a risk level (风险承受能力) of C{int(risk)} or above: its shares are "
            f"{risk.name} (中高风险), and customer {customer_id}'s current level is {level.name} (C1-C5 from the "
            f"risk assessment, {QUESTIONNAIRE})",
            level=level.name,
            product_risk=risk.name,
            required_level=f"C{int(risk)}",
        )


def may_buy(connection: Connection, customer_id: str, instrument: models.Instrument) -> bool:
    """Whether `check_buy` lets the customer buy the security now."""
    level = level_of(connection, customer_id)
    return level is not None and check_suitability(level, product_risk(instrument)).allowed
