"""What the lending API answers with: an application and its decision, an offer with its disclosure
(综合年化利率 next to the nominal rate, and the schedule), a loan, its instalments and a repayment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema

Rate = Field(pattern=r"^[0-9]+(\.[0-9]+)?$", description='a yearly rate as a decimal fraction, e.g. "0.1795"')


class Application(Schema):
    """A loan application (借款申请) and the risk decision on it."""

    id: str
    customer_id: str
    product_code: str
    amount: Money
    term: int
    decision: Literal["approved", "declined"]
    grade: str | None
    credit_limit: Money | None
    reasons: list[str]


class ScheduleLine(Schema):
    number: int
    due_date: Day
    principal: Money
    interest: Money
    fee: Money
    total: Money


class Offer(Schema):
    """An offer with what must be disclosed before signing (息费披露): both rates and the schedule."""

    id: str
    application_id: str
    customer_id: str
    nominal_rate: str = Rate
    annualized_rate: str = Rate
    total_interest: Money
    total_fees: Money
    schedule: list[ScheduleLine]
    status: Literal["open", "accepted"]
    loan_id: str | None


class Loan(Schema):
    id: str
    customer_id: str
    product_code: str
    principal: Money
    annual_rate: str = Rate
    method: Literal["equal_instalments", "equal_principal", "interest_first", "bullet"]
    term: int
    start_date: Day
    status: str
    days_past_due: int
    bucket: str = Field(description="delinquency bucket (逾期分档): current, M1, M2, M3+")
    loan_class: str = Field(description="five-category loan class (五级分类)")
    accrued_through: Day | None
    outstanding_principal: Money


class Instalment(Schema):
    number: int
    due_date: Day
    principal: Money
    interest: Money
    fee: Money
    principal_paid: Money
    interest_paid: Money
    fee_paid: Money


class Repayment(Schema):
    """A repayment (还款) as it was allocated: penalty, fees, interest, principal, early-repayment fee."""

    id: str
    loan_id: str
    customer_id: str
    kind: str
    business_date: Day
    amount: Money
    penalty: Money
    fees: Money
    interest: Money
    principal: Money
    early_fee: Money
    recovery: Money
