"""What the insurance API answers with (互联网保险): an insurer's premiums held, a product version's terms,
a quote and a policy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema, Timestamp

Ratio = Field(pattern=r"^(0|1)(\.[0-9]+)?$", description='a reimbursement ratio (赔付比例) from 0 to 1, e.g. "0.6"')


class Insurer(Schema):
    """An insurer (保险公司) and the premiums the platform holds for it (保费待划转)."""

    partner_id: str
    premium_held: Money = Field(description="premiums collected for the insurer and not yet remitted")


class PremiumBand(Schema):
    """One row of the premium table (费率表): the yearly premium for ages min_age..max_age."""

    min_age: int
    max_age: int
    with_social_insurance: Money = Field(description="有社保")
    without_social_insurance: Money = Field(description="无社保")


class HealthQuestion(Schema):
    """A health question (健康告知): what a "yes" means: accept, exclude `condition`, or decline."""

    id: str
    text: str
    on_yes: Literal["accept", "exclude", "decline"]
    condition: str | None = Field(description="the condition excluded (除外责任) when on_yes is exclude")


class MedicalProductVersion(Schema):
    """A version of a 百万医疗-style medical product; a policy points to its version forever."""

    code: str
    version: int
    name: str
    insurer_id: str
    kind: Literal["medical"]
    bands: list[PremiumBand]
    deductible: Money = Field(description="免赔额 per policy year")
    annual_limit: Money = Field(description="年度限额")
    ratio_with_social: str = Ratio
    ratio_without_social: str = Ratio
    waiting_days: int = Field(description="等待期 for illness, in days")
    early_claim_days: int = Field(
        description="claims for an event within this many days of the cover start go to manual review "
        "(人工审核, reason early_claim), accidents' too; 0: none"
    )
    cooling_off_days: int = Field(description="犹豫期: cancelled within it, the whole premium comes back")
    guaranteed_renewal_years: int = Field(description="保证续保 years (0: renewal not guaranteed)")
    questionnaire: list[HealthQuestion] = Field(description="the health declaration (健康告知), maybe empty")


class Quote(Schema):
    """The yearly premium (保费) for an age and social-insurance status."""

    product_code: str
    product_version: int
    age: int
    social_insurance: bool
    premium: Money


class Cancellation(Schema):
    """What cancelling a policy (退保) refunds and why: for an active policy what a cancellation today would
    refund (a quote: nothing moves), for a cancelled one what its cancellation refunded."""

    refund: Money
    reason: Literal["cooling_off", "unearned_premium", "claim_paid"] = Field(
        description="cooling_off: cancelled before the cover starts (待生效) or within the cooling-off period "
        "(犹豫期), the whole premium back; "
        "unearned_premium: after it, the premium for the days of cover left (未满期保费, the day of cancellation "
        "earned); claim_paid: a benefit was paid or approved under the policy, so nothing is refunded "
        "(已发生保险金给付的，不退还保险费), even within the cooling-off period"
    )
    explanation: str = Field(description="the reason in words, with the amounts and dates it rests on")
    cancelled_on: Day = Field(
        description="the day of the cancellation (today for an active policy, also before its cover starts), as "
        "the cancellation decided it"
    )
    cooling_off_last_day: Day = Field(description="the last day of the cooling-off period")
    days_left: int = Field(
        description="days of cover after the day of cancellation (what is unearned; every day of cover before it "
        "starts)"
    )
    claims_paid: Money = Field(description="benefits paid under the policy (by the cancellation, once made)")
    claims_owed: Money = Field(description="benefits approved and not yet paid (待支付)")


class Policy(Schema):
    """A medical policy (保单): cover from start_date (inclusive) to end_date (exclusive)."""

    id: str
    customer_id: str
    product_code: str
    product_version: int
    insurer_id: str
    insured_age: int
    social_insurance: bool
    premium: Money
    start_date: Day = Field(description="the first day of cover (inclusive), from 00:00 China time")
    end_date: Day = Field(
        description="the end of cover, exclusive: the day after the last covered day (cover runs to 24:00 of "
        "end_date - 1 day; an event on end_date is outside cover) and the first day of a renewal"
    )
    status: Literal["active", "cancelled"] = Field(description="the contract's status: in effect, or cancelled (退保)")
    cover_state: Literal["awaiting_start", "in_force", "ended", "cancelled"] = Field(
        description="where the cover stands today: awaiting_start before start_date (待生效), in_force (保障中), "
        "ended from end_date (已到期), cancelled"
    )
    refund: Money | None = Field(description="what cancellation (退保) paid back to the wallet")
    created_at: Timestamp
    cancelled_at: Timestamp | None
    exclusions: list[str] = Field(description="conditions excluded by underwriting (除外责任)")
    renewed_from: str | None = Field(description="the policy this one renews (续保)")
    cancellation: Cancellation | None = Field(
        description="what cancelling refunds and why: a quote while active, what was refunded once cancelled; "
        "null for an active policy whose cover has ended (it can no longer be cancelled)"
    )
