"""What the reserve reports answer with (准备金报表): an insurer's reserves on a date, its loss and
combined ratios, each for its lines of business and their totals, and its open claims by age."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema

RATIO = r"^[0-9]+(\.[0-9]+)?$"


LINE = Literal["medical", "return_shipping"]
METHOD = Literal["chain_ladder", "bornhuetter_ferguson"]


class ReserveLine(Schema):
    """One line of business (险种): `medical` (百万医疗) or `return_shipping` (退货运费险), its figures since its
    first policy. A return-shipping cover runs 15 days from its order and earns 1/15 a day, all of it at
    its claim; its claims are paid as reported (no case reserve) and its IBNR is the part of its running
    covers' claims still to come that falls in the days of cover already run: chain-ladder once its paid
    triangle spans three months, before that Bornhuetter-Ferguson on the priced return rate × claim."""

    line: LINE
    policies: int = Field(ge=0, description="policies (covers) sold by the end of the date")
    written: Money = Field(description="保费收入: premiums written")
    refunded: Money = Field(description="退保金: premiums refunded on cancellation")
    earned: Money = Field(description="已赚保费: earned premium, pro rata by day over the term")
    upr: Money = Field(description="未到期责任准备金: unearned premium reserve")
    paid: Money = Field(description="赔付支出: claims paid")
    case_reserve: Money = Field(description="未决赔款准备金: case estimates of reported open claims")
    ibnr: Money = Field(
        description="IBNR booked, by `ibnr_method` (return shipping: never below BF's, the chain-ladder reading low "
        "within a month)"
    )
    ibnr_bf: Money = Field(description="IBNR by Bornhuetter-Ferguson, for comparison")
    ibnr_method: METHOD = Field(description="how the booked IBNR was estimated")


class Reserves(Schema):
    """An insurer's reserves at the end of a business date, since its first policy (fen as 元 strings): the
    totals of its lines of business, then each line (`lines`: medical, return shipping)."""

    insurer_id: str
    business_date: Day
    policies: int = Field(ge=0, description="policies sold by the end of the date, every line")
    written: Money = Field(description="保费收入: premiums written")
    refunded: Money = Field(description="退保金: premiums refunded on cancellation")
    earned: Money = Field(description="已赚保费: earned premium, pro rata by day (1/365 for a year's cover)")
    upr: Money = Field(description="未到期责任准备金: unearned premium reserve")
    paid: Money = Field(description="赔付支出: claims paid")
    case_reserve: Money = Field(description="未决赔款准备金: case estimates of reported open claims")
    ibnr: Money = Field(description="IBNR booked, each line by its own method")
    ibnr_bf: Money = Field(description="IBNR by Bornhuetter-Ferguson, for comparison")
    ibnr_method: Literal["chain_ladder", "bornhuetter_ferguson", "by_line"] = Field(
        description="the method every line holding policies books, else `by_line`"
    )
    lines: list[ReserveLine] = Field(description="each line of business: medical, return_shipping")


class RatioLine(Schema):
    """One line's loss and combined ratios (the insurer's commission and expense ratios)."""

    line: LINE
    earned: Money
    incurred: Money = Field(description="已发生赔款: paid + case reserve + IBNR")
    loss_ratio: str | None = Field(pattern=RATIO, description="赔付率, four places")
    combined_ratio: str | None = Field(pattern=RATIO, description="综合成本率")


class Ratios(Schema):
    """赔付率 = (paid + case + IBNR) ÷ earned; 综合成本率 = 赔付率 + 佣金率 + 费用率; null without earned premium.
    The totals of every line of business, then each line (`lines`)."""

    insurer_id: str
    business_date: Day
    earned: Money
    incurred: Money = Field(description="已发生赔款: paid + case reserve + IBNR")
    loss_ratio: str | None = Field(pattern=RATIO, description="赔付率, four places")
    commission_ratio: str = Field(pattern=RATIO, description="佣金率 (insurer data)")
    expense_ratio: str = Field(pattern=RATIO, description="费用率 (insurer data)")
    combined_ratio: str | None = Field(pattern=RATIO, description="综合成本率")
    lines: list[RatioLine] = Field(description="each line of business: medical, return_shipping")


class AgeingBucket(Schema):
    bucket: Literal["0-30", "31-90", "91-180", ">180"] = Field(description="days since the claim was reported")
    claims: int = Field(ge=0)
    case_estimate: Money


class ClaimsAgeing(Schema):
    """Open claims at the end of a date by days since reported (未决赔案账龄)."""

    insurer_id: str
    business_date: Day
    claims_present: bool = Field(description="whether the claims module is installed")
    buckets: list[AgeingBucket]
