"""What the reserve reports answer with (准备金报表): an insurer's reserves on a date, its loss and
combined ratios, and its open claims by age."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema

RATIO = r"^[0-9]+(\.[0-9]+)?$"


class Reserves(Schema):
    """An insurer's figures for its medical business (百万医疗) at the end of a business date, since its first
    policy (fen as 元 strings). Return-shipping cover (退货运费险) is not in them: its premiums are held for the
    claims paid at each return (`/insurers/{id}/...`), with no term to earn them over."""

    insurer_id: str
    date: Day
    policies: int = Field(ge=0, description="policies sold by the end of the date")
    written: Money = Field(description="保费收入: premiums written")
    refunded: Money = Field(description="退保金: premiums refunded on cancellation")
    earned: Money = Field(description="已赚保费: earned premium, 1/365 a day")
    upr: Money = Field(description="未到期责任准备金: unearned premium reserve")
    paid: Money = Field(description="赔付支出: claims paid")
    case_reserve: Money = Field(description="未决赔款准备金: case estimates of reported open claims")
    ibnr: Money = Field(description="IBNR booked (chain-ladder on paid claims)")
    ibnr_bf: Money = Field(description="IBNR by Bornhuetter-Ferguson, for comparison")
    ibnr_method: Literal["chain_ladder"]


class Ratios(Schema):
    """赔付率 = (paid + case + IBNR) ÷ earned; 综合成本率 = 赔付率 + 佣金率 + 费用率; null without earned premium."""

    insurer_id: str
    date: Day
    earned: Money
    incurred: Money = Field(description="已发生赔款: paid + case reserve + IBNR")
    loss_ratio: str | None = Field(pattern=RATIO, description="赔付率, four places")
    commission_ratio: str = Field(pattern=RATIO, description="佣金率 (insurer data)")
    expense_ratio: str = Field(pattern=RATIO, description="费用率 (insurer data)")
    combined_ratio: str | None = Field(pattern=RATIO, description="综合成本率")


class AgeingBucket(Schema):
    bucket: Literal["0-30", "31-90", "91-180", ">180"] = Field(description="days since the claim was reported")
    claims: int = Field(ge=0)
    case_estimate: Money


class ClaimsAgeing(Schema):
    """Open claims at the end of a date by days since reported (未决赔案账龄)."""

    insurer_id: str
    date: Day
    claims_present: bool = Field(description="whether the claims module is installed")
    buckets: list[AgeingBucket]
