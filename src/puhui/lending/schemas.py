"""What the lending API answers with: a loan product, an application and its decision, an offer with its
disclosure (综合年化利率 next to the nominal rate, and the schedule), a loan, its instalments, a repayment,
a loan's statement and an end-of-day run."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema, Timestamp

Rate = Field(pattern=r"^[0-9]+(\.[0-9]+)?$", description='a yearly rate as a decimal fraction, e.g. "0.1795"')
Fraction = Field(
    pattern=r"^[0-9]+(\.[0-9]+)?$", description='a share or a rate from 0 to 1 as a decimal fraction, e.g. "0.3"'
)

Method = Literal["equal_instalments", "equal_principal", "interest_first", "bullet"]
LoanStatus = Literal["active", "paid_off", "written_off"]
Bucket = Literal["current", "M1", "M2", "M3", "M3+"]  # `puhui.lending.delinquency.BUCKETS`, then M3+


Channel = Annotated[
    Literal["direct", "credit_line"],
    Field(
        description="how the product is used (`puhui.lending.catalog.Channel`): `direct`, applied for "
        "(POST /v1/lending/applications), offered and accepted as a cash loan; `credit_line`, drawn only "
        "through a credit line, at checkout (POST /v1/lending/checkout/{qr_id}) or by a draw (POST "
        "/v1/lending/lines/{line_id}/draws) with the plan's fees disclosed there; applied for directly it is "
        "refused (422 `product_not_for_direct_application`)"
    ),
]


class ListedPlan(Schema):
    """A plan a credit line's product is taken in (分期方案), as it is charged: the periods, the fee of each
    period as a share of the amount (每期手续费率), and the annualized rate (年化利率, IRR method) it costs."""

    plan: Literal["pay_later", "instalments"] | None = Field(
        description="the plan's name at checkout and on a draw (`plan`), with these `periods`"
    )
    periods: int = Field(description="monthly instalments (期数)")
    fee_rate_per_period: str = Field(
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="the fee charged each period as a share of the amount (每期手续费率): the plan's fee is the amount "
        "times this times `periods`, rounded down to the fen, spread evenly, the residue in the last instalment",
    )
    total_fee_rate: str = Field(
        pattern=r"^[0-9]+(\.[0-9]+)?$", description="`fee_rate_per_period` times `periods`: the fee over the plan"
    )
    annualized_rate: str = Field(
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="the annualized rate (年化利率, IRR of the plan's monthly flows × 12, six places) GET "
        "/v1/lending/plans quotes for the plan and a checkout or draw discloses, on an amount the periods and the "
        "fee divide into whole fen (e.g. 1200.00); on other amounts the fen rounding only lowers it",
    )


class LoanProduct(Schema):
    """A loan product (贷款产品): its channel (direct, or drawn only through a credit line), range, pricing (rates
    are decimal fractions with at most six places), grace days (宽限期), interest-free months (免息期), 还款冲销顺序
    and the platform's share (出资比例)."""

    code: str
    status: Literal["active", "retired"]
    channel: Channel
    name: str
    currency: Literal["CNY"]
    min_amount: Money
    max_amount: Money
    min_term: int = Field(description="months")
    max_term: int = Field(description="months")
    method: Method
    annual_rate: str = Rate
    upfront_fee_rate: str = Fraction
    instalment_fee_rate: str = Fraction
    grace_days: int
    interest_free_months: int
    penalty_annual_rate: str = Rate
    allocation_order: list[Literal["penalty", "fees", "interest", "principal"]]
    early_repayment_fee_rate: str = Fraction
    platform_share: str = Fraction
    instalment_plans: list[ListedPlan] = Field(
        description="the plans a credit line's product is taken in, each with its fee a period and annualized rate: "
        "what GET /v1/lending/plans quotes and a checkout or draw charges (`instalment_fee_rate` is then 0: the "
        "plans carry the fees); empty for a product applied for directly"
    )


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
    """One instalment of a disclosed schedule (还款计划)."""

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
    product_code: str = Field(description="the product applied for (its application's)")
    amount: Money = Field(description="the amount offered: its application's, the principal of the schedule")
    term: int = Field(description="months: its application's, the instalments of the schedule")
    offered_at: Timestamp = Field(description="when the offer was made")
    nominal_rate: str = Rate
    annualized_rate: str = Rate
    total_interest: Money
    total_fees: Money
    early_repayment_fee_rate: str = Field(
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="the early repayment fee (提前还款违约金) as a fraction of the principal repaid ahead of "
        "schedule, in full or in part (the product's); it is not in `annualized_rate`, which assumes the schedule "
        "is kept. GET /v1/lending/loans/{loan_id}/payoff quotes it in money before an early repayment",
    )
    schedule: list[ScheduleLine]
    status: Literal["open", "accepted", "superseded"] = Field(
        description="`open`: it may be accepted; `accepted`: it became the loan (`loan_id`); `superseded`: another "
        "offer of the same application was accepted (one application makes one loan), so accepting this one is "
        "409 `loan_application_used`"
    )
    loan_id: str | None = Field(description="the loan the offer became, once accepted")


ACCRUED_THROUGH = (
    "the date interest is accrued through (计息至): the last end of day run, or the loan's start date when it began "
    "after that run (nothing is accrued on the day a loan starts); for a paid-off loan the last run before its "
    "payoff, never after `paid_off_on`, since nothing accrues once a loan is paid off; for a written-off loan its "
    "`written_off_on`, since nothing accrues once a loan is written off (money recovered later is not interest)"
)
PAID_OFF_ON = "the business date the loan was paid off (结清日); null while it is not paid off"
WRITTEN_OFF_ON = (
    "the business date the loan was written off (核销日, by the end of day of that date); null unless written off"
)


class Loan(Schema):
    """A loan (贷款): its terms, its delinquency and the principal still outstanding."""

    id: str
    customer_id: str
    product_code: str
    principal: Money
    annual_rate: str = Rate
    annualized_rate: str = Field(
        description="the annualized rate disclosed before the loan was taken (综合年化利率, IRR of its schedule, fees "
        "included): its offer's, or for a draw on a credit line (pay later, instalments) its plan's; 0 for an "
        "interest-free plan without fees"
    )
    method: Method
    term: int
    start_date: Day
    status: LoanStatus
    days_past_due: int
    bucket: Bucket = Field(
        description="delinquency bucket (逾期分档) by days past due: current (0), M1 (1–30), M2 (31–60), "
        "M3 (61–90), M3+ (over 90)"
    )
    loan_class: str = Field(description="five-category loan class (五级分类)")
    accrued_through: Day = Field(description=ACCRUED_THROUGH)
    paid_off_on: Day | None = Field(description=PAID_OFF_ON)
    written_off_on: Day | None = Field(description=WRITTEN_OFF_ON)
    outstanding_principal: Money


class Instalment(Schema):
    """One instalment (期供) of a loan's schedule with what was paid on it."""

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


class LoanPayoff(Schema):
    """The payoff quote (提前结清金额) of an active loan today: what an early full repayment takes, part by part.
    A repayment of kind `early_full` charges exactly `total` today (the same computation)."""

    loan_id: str
    as_of: Day = Field(description="the business date the quote is for: it changes as interest accrues")
    principal: Money = Field(description="all principal still owed, due or not")
    interest: Money = Field(description="interest due and interest accrued to date on the instalments not yet due")
    fees: Money = Field(description="instalment fees due")
    penalty: Money = Field(description="penalty interest (罚息) owed")
    early_repayment_fee: Money = Field(description="提前还款违约金: the rate times the principal not yet due")
    early_repayment_fee_rate: str = Fraction
    total: Money = Field(description="the payoff amount: the sum of the parts above")


class LoanStatement(Schema):
    """A loan's statement (贷款对账单) on a business date: what is outstanding and what was paid to date."""

    loan_id: str
    status: LoanStatus
    as_of: Day
    accrued_through: Day = Field(description=ACCRUED_THROUGH)
    paid_off_on: Day | None = Field(description=PAID_OFF_ON)
    written_off_on: Day | None = Field(description=WRITTEN_OFF_ON)
    outstanding_principal: Money
    accrued_interest: Money
    fees: Money
    penalties: Money = Field(description="penalty interest (罚息) still owed")
    provision: Money = Field(description="loan-loss provision (拨备) held against the loan")
    paid_principal: Money
    paid_interest: Money
    paid_fees: Money
    paid_penalties: Money
    paid_early_fees: Money
    written_off: Money = Field(description="principal written off (核销)")
    recovered: Money = Field(description="recovered after the write-off")
    paid_to_date: Money


class LendingEodRun(Schema):
    """Lending's end of day (日终) for a business date: loans accrued and transfers posted."""

    business_date: Day
    already_done: bool = Field(description="true when the date had already run (nothing changed)")
    loans: int
    transfers: int
    caught_up: list[LendingEodRun] = Field(description="the days of a gap, run first, in order")
