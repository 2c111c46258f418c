"""What the suitability and advice API answers with: the risk questionnaire (风险测评问卷), a customer's
assessment and suitability (投资者适当性), the robo-advisor's target portfolio (智能投顾) and the orders
that invest or rebalance it. Amounts are decimal strings with two places; weights and the portfolio's
statistics are numbers (fractions, not money)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from puhui.api.fields import Day, Money, Schema, Timestamp
from puhui.wealth.funds.schemas import PLAIN_DECIMAL, FundOrder, plain_decimal

CustomerLevel = Literal["C1", "C2", "C3", "C4", "C5"]
ProductRisk = Literal["R1", "R2", "R3", "R4", "R5"]


class Choice(Schema):
    """One answer a question offers (its score is not shown)."""

    key: str
    text: str
    text_en: str


class Question(Schema):
    """One question of the questionnaire with its choices, in Chinese (`text`) and English (`text_en`)."""

    id: str
    text: str
    text_en: str
    from_id: bool = Field(description="answered from the customer's resident ID (the age); an answer sent is ignored")
    choices: list[Choice]


class ScoreBand(Schema):
    """From this total score up, the customer's risk level (风险承受能力等级)."""

    min_score: int
    level: CustomerLevel


class Questionnaire(Schema):
    """The current risk questionnaire (风险测评问卷): its version, how many days an answer stays valid, the
    questions and the score bands."""

    version: str
    valid_days: int
    questions: list[Question]
    bands: list[ScoreBand]


class RiskAssessment(Schema):
    """A completed questionnaire (风险测评结果): its score and level, valid until `expires_at`."""

    id: str
    customer_id: str
    version: str
    score: int
    level: CustomerLevel
    business_date: Day
    assessed_at: Timestamp
    expires_at: Timestamp


class Suitability(Schema):
    """What a customer may buy (投资者适当性): only a Class III wallet (Ⅲ类支付账户) with a valid assessment may buy
    products up to `max_product_risk`; `refusal` names the error a purchase would get otherwise."""

    customer_id: str
    wallet_tier: Literal["I", "II", "III"] | None
    assessment: RiskAssessment | None
    valid: bool
    level: CustomerLevel | None
    max_product_risk: ProductRisk | None
    refusal: Literal["wallet_class_too_low", "questionnaire_required"] | None


class TargetPortfolio(Schema):
    """The robo-advisor's target portfolio (目标组合) for a risk level: each fund's weight (fractions summing to
    1), yearly expected return and volatility, Sharpe ratio, the weight bounds used and the funds left out."""

    level: CustomerLevel
    method: Literal["efficient_risk", "min_volatility", "single_fund"]
    weights: dict[str, float] = Field(description="fund code → weight, a fraction with up to six places")
    expected_return: float
    volatility: float
    sharpe: float
    weight_bounds: list[float] = Field(min_length=2, max_length=2, description="[lowest, highest] weight per fund")
    excluded: dict[str, str] = Field(description="fund code → why it gets no weight")


class Investment(Schema):
    """The target portfolio bought with money from the wallet: one fund purchase (申购) per fund."""

    target: TargetPortfolio
    orders: list[FundOrder]


class WaitingBuy(Schema):
    """A purchase the rebalance could not pay yet: place it when the redemptions' cash is in the wallet."""

    fund_code: str
    side: Literal["buy"]
    amount: Money


class Rebalance(Schema):
    """A rebalance (再平衡): the holdings' drift from the target, the orders placed when it passed the
    threshold, and the purchases waiting for cash."""

    target: TargetPortfolio
    drift: Annotated[
        str,
        BeforeValidator(plain_decimal),
        Field(
            pattern=PLAIN_DECIMAL,
            examples=["0.05"],
            description="the largest gap between a fund's weight and its target, an exact decimal fraction",
        ),
    ]
    threshold: float
    orders: list[FundOrder]
    buys_waiting_for_cash: list[WaitingBuy]
