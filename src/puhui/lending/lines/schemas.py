"""What the credit-line API answers with: a line (循环授信额度) with its limit, what is outstanding and
what is available, the loans drawn on it (用信), a draw with its disclosed plan, and a pay-later
checkout (先享后付) with the merchant's payment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema
from puhui.lending.schemas import Instalment, Loan, LoanStatus, Rate, ScheduleLine
from puhui.payments.schemas import Payment

Plan = Literal["pay_later", "instalments"]


class CreditLine(Schema):
    """A credit line (授信额度): `available` is the limit less the outstanding principal drawn on it;
    `drawable_now` is what a draw may take now, which can be less (`drawable_now_reason`)."""

    id: str
    customer_id: str
    limit: Money
    outstanding: Money
    available: Money = Field(description="the line's own room: the limit less the outstanding principal drawn on it")
    drawable_now: Money = Field(
        description="what a draw or pay-later checkout may take now (可用): the lesser of `available` and the "
        "borrower's headroom under the regulatory limits over all their loans (one third of the annual income on "
        "file, the single-borrower cap), or 0 while the line refuses draws"
    )
    drawable_now_reason: (
        Literal[
            "income_third",
            "single_borrower_cap",
            "annual_income_required",
            "credit_line_frozen",
            "credit_line_expired",
            "credit_line_overdue",
        ]
        | None
    ) = Field(
        description="why `drawable_now` is less than `available`: `income_third` / `single_borrower_cap` (the "
        "rule of a draw's 422 `borrower_limit_exceeded`), `annual_income_required` (no income on file), or the "
        "code a draw is refused with (`credit_line_frozen`, `credit_line_expired`, `credit_line_overdue`); "
        "null when the line's own `available` is the limit"
    )
    grade: str | None = Field(description="risk grade (风险等级) A to D; none without a platform model")
    score: str | None = Field(description="the credit score behind the grade; none without a platform model")
    reasons: list[str]
    status: Literal["active", "frozen"]
    expires_on: Day


class CreditLineDraw(Schema):
    """A loan drawn on a line (用信) with its plan and what is still owed."""

    loan_id: str
    amount: Money
    plan: Plan
    periods: int
    annualized_rate: str = Rate
    payment_id: str | None = Field(description="the merchant payment it paid, for a pay-later checkout")
    status: LoanStatus
    days_past_due: int
    outstanding_principal: Money


class DrawPlan(Schema):
    """The plan disclosed for a draw (息费披露): pay later (免息) or instalments with a fee (分期手续费)."""

    nominal_rate: str = Rate
    annualized_rate: str = Rate
    total_fees: Money
    total_repayment: Money
    schedule: list[ScheduleLine]


class PlanOption(DrawPlan):
    """One plan a purchase can take, disclosed before the customer chooses (分期方案), priced by the line product
    that lists it (GET /v1/lending/products, its `instalment_plans`)."""

    plan: Plan
    periods: int
    product_code: str = Field(description="the credit line's product whose plan this is")
    fee_rate_per_period: str = Field(
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="the fee each period as a share of the amount (每期手续费率), as the product lists it",
    )


class RecordedDrawPlan(Schema):
    """A checkout's plan as stored, when the same client payment id comes again: the annualized rate and
    the loan's schedule with what was paid on it."""

    annualized_rate: str = Rate
    schedule: list[Instalment]


class CreditDraw(Schema):
    """A draw on a line: the loan disbursed to the wallet and its disclosed plan."""

    loan: Loan
    plan: DrawPlan


class PayLaterCheckout(Schema):
    """A QR code paid later from the caller's credit line (先享后付): the line, the loan drawn on it, its
    plan and the merchant's payment."""

    line_id: str
    payment: Payment | None
    loan: Loan
    plan: DrawPlan | RecordedDrawPlan
