"""What the insurer-settlement API answers with (保费结算): an insurer's terms and a remittance."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema, Timestamp

Rate = Field(pattern=r"^(0|0\.[0-9]{1,6})$", description='the commission rate (佣金比例), e.g. "0.15"')


class RemittanceSchedule(Schema):
    """When premiums are remitted (划转周期): monthly on day `value`, or every `value` days."""

    kind: Literal["monthly", "every"]
    value: int = Field(ge=1, le=366)


class SettlementTerms(Schema):
    """An insurer's settlement terms (结算条款); the settlement account is shown masked (脱敏)."""

    insurer_id: str
    commission_rate: str = Rate
    schedule: RemittanceSchedule
    bank_name: str
    bank_account: str = Field(description="the insurer's settlement account, all but the last four digits masked")
    claims_float: Money = Field(description="kept back from every remittance for claims (理赔备付金)")
    last_remitted_through: Day | None = Field(description="the last date remitted through, if any")
    next_remittance: Day = Field(description="the next remittance date on the schedule")
    updated_at: Timestamp


class Remittance(Schema):
    """One remittance (保费划转) of the premiums held for the insurer over [period_start, through]. What is
    remitted is the money held less what belongs to the next period, the commission and the claims float:
    remitted = held − later_premiums − commission − claims_float_kept; `insurer_funding` names the insurer's
    own money inside `held`."""

    id: str
    insurer_id: str
    period_start: Day = Field(
        description="the first day of the period: the day after the last remittance's `through`, or for the "
        "insurer's first remittance the date it was onboarded"
    )
    through: Day
    commission_rate: str = Rate
    premiums: Money = Field(description="premiums collected in the period")
    refunds: Money = Field(description="refunds paid in the period (退保)")
    commission: Money = Field(description="the platform's commission taken (保险代理佣金)")
    carried: Money = Field(description="commission carried to the next period (negative: owed back)")
    remitted: Money = Field(description="paid to the insurer's settlement account")
    held: Money = Field(
        description="the insurer's money held when remitting, before the commission and the remittance: premiums "
        "net of refunds and claims paid, plus the insurer's funding (理赔备付金) and what earlier remittances kept back"
    )
    insurer_funding: Money = Field(
        description="the part of `held` that is the insurer's own money, not premiums: the funding it wired in "
        "(理赔备付金, for the claims the platform pays on its behalf) since the remittance before (for its first "
        "remittance, all it wired in). It is counted once, by the first remittance made after it arrived; what a "
        "remittance keeps back of it shows in `claims_float_kept` and in the next one's `held`. The premiums in "
        "`held` (net of refunds and claims paid, with what earlier remittances kept back) are held − insurer_funding"
    )
    later_premiums: Money = Field(description="premiums collected after `through`: held for the next period")
    claims_float_kept: Money = Field(
        description="kept back for claims under the terms' claims float (理赔备付金), at most what the commission left"
    )
    created_at: Timestamp


class ClaimsFunding(Schema):
    """Money an insurer wired in for the claims the platform pays on its behalf (理赔备付金), and the
    approved claims waiting for money (待支付) it paid at once, oldest approval first, strictly in turn."""

    id: str = Field(description="the ledger transfer")
    insurer_id: str
    amount: Money
    held: Money = Field(description="the insurer's money held by the platform after the funding and the claims it paid")
    claims_paid: list[str] = Field(description="the waiting claims the funding paid, in the order paid")
    claims_waiting: int = Field(ge=0, description="the insurer's approved claims still waiting for money")
    created_at: Timestamp
