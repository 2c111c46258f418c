"""What the claims API answers with (理赔): a claim, its decision and its documents' metadata."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema, Timestamp


class ClaimDocument(Schema):
    """A claim document (理赔材料) as stored: its metadata and the sha256 of its content."""

    name: str
    media_type: str
    size: int
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Claim(Schema):
    """A medical claim (赔案) and its decision: `approved` with `paid_date` empty waits for the insurer's
    held money (reason insurer_funds_insufficient); `review` waits for a person (人工审核)."""

    id: str
    policy_id: str
    customer_id: str
    insurer_id: str
    kind: Literal["illness", "accident"]
    condition: str
    event_date: Day = Field(description="出险日期")
    reported_date: Day = Field(description="报案日期")
    billed: Money
    social_insurance_paid: Money
    benefit: Money = Field(description="理赔金额: adjudicated, or provisional under review")
    deductible_applied: Money = Field(description="免赔额 this claim used")
    status: Literal["review", "approved", "paid", "declined"]
    reasons: list[str] = Field(description="reason codes, e.g. paid, waiting_period, excluded_condition")
    fraud_score: str | None = Field(description="反欺诈评分 from the scorer hook, when there is one")
    documents: list[ClaimDocument]
    paid_date: Day | None
    decision_note: str | None = Field(
        description="the reviewer's words on a decision made on review: a decline's reason (拒赔理由, the "
        "refusal notice's reasons) or the note approving it (核赔意见); empty for a claim decided by the rules"
    )
    created_at: Timestamp


class ClaimList(Schema):
    """Claims waiting for review (人工审核队列), oldest first."""

    claims: list[Claim]


class AwaitingClaim(Schema):
    """An approved claim waiting for the insurer's money (待支付赔案)."""

    claim_id: str
    insurer_id: str
    policy_id: str
    customer_id: str
    owed: Money = Field(description="the benefit owed to the customer (应付赔款)")
    approved_at: Timestamp = Field(description="when it was approved (核赔通过): its turn in the queue")
    reported_date: Day = Field(description="报案日期")


class InsurerShortfall(Schema):
    """An insurer with claims waiting: how many, what they owe, its money held and the shortfall (资金缺口)."""

    insurer_id: str
    claims: int = Field(ge=1)
    owed: Money = Field(description="what all its waiting claims owe")
    held: Money = Field(description="its money held by the platform (insurer.<id>.premium_held)")
    shortfall: Money = Field(description="owed less held, at least zero: what it must wire in to pay them all")


class AwaitingPayment(Schema):
    """Approved claims not yet paid (待支付), oldest approval first, and each insurer's shortfall."""

    claims: list[AwaitingClaim]
    insurers: list[InsurerShortfall]


class WaitingPaid(Schema):
    """The waiting claims paid now, strictly in turn, from the insurer's money held (待支付赔案支付)."""

    insurer_id: str
    claims_paid: list[str] = Field(description="the claims paid, in the order paid")
    claims_waiting: int = Field(ge=0, description="the insurer's approved claims still waiting for money")
    held: Money = Field(description="its money held after the payments")
