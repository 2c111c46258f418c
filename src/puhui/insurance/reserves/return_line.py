"""The return-shipping line's reserve arithmetic (退货运费险准备金, no I/O): a cover's term and earned
premium, and the line's IBNR.

Term (保险期间). A cover is bought with its order (`return_shipping_policies.created_at`); if the goods come
back, the merchant confirms the return and the fixed claim is paid at that moment
(`return_shipping_claims.created_at`). Nothing else is stored: the platform does not see delivery or
sign-for (签收), and a product version carries no return window. So the term is fixed from the order:
`COVER_DAYS` = 15 days, the order's China date first (`cover_of`) — up to 8 days to deliver and sign for the
goods, then the 7 days in which a buyer may send them back without a reason (七日无理由退货,
《消费者权益保护法》第二十五条). Both are the returns module's own (`puhui.insurance.returns.models`), the one
definition its service also refuses a return confirmed after the term by, so no claim can come after a
cover closes here. The returns module has no cancellation or refund of a cover: nothing is ever refunded on
this line.

Earning (已赚保费). Daily pro rata over the term: the 1/365 method (三百六十五分之一法, by the day), one of
the methods 《保险公司非寿险业务准备金管理办法》 names for the UPR of short-term business, applied to a term of
days. By the end of the k-th day of the term premium × k ÷ 15 is earned, rounded down to the fen, the last
day earning the rest —
`puhui.insurance.models.earned_through`, the medical line's own rule, so both lines earn alike. Earning only
when a cover closes was the other choice; it would hold every running cover's whole premium unearned and set
the claims of a cover against no earned premium until it closes, while the risk runs over the term. Two
events end the risk early: a cover pays at most one claim, so a claimed cover is fully earned from the day of
its claim; and a cover whose term (its return window) ended without a claim is fully earned.

Claims and IBNR (已发生未报案未决赔款准备金). A claim is paid the moment it is reported, so the line has no case
reserve. Its payments go into the line's own paid triangle (`models.paid_triangle`), accident month the
order's month (the nearest stored date to the sign-for the rule would use; the return has no date of its own
before its payment) and paid month the payout's. Each row is thus the covers bought in a month, and what a
row has still to pay (ultimate − paid) is what its covers still running will claim. Of that, the share of
their term already run (earned ÷ premium of the month's running covers, `OpenMonth.share`) is incurred and
not reported — goods sent back whose return the merchant has not yet confirmed: the IBNR; the rest belongs
to days of cover still to come, which the UPR holds.

What a row has still to pay comes from:
- chain-ladder (链梯法, `models.chain_ladder`) once the triangle spans `CHAIN_LADDER_MONTHS` accident months
  (the line runs off within a month of its order month, so three months have seen two complete
  developments);
- before that, Bornhuetter-Ferguson (BF法) with the product's pricing as the a-priori loss: each running
  cover's expected claim is its return probability × its claim amount (priced per order,
  `puhui.insurance.models.return_probability`). With the line's reporting pattern — a cover's claim, if any,
  comes by the time it closes — BF's unreported part of a row is exactly its running covers' a-priori claims.
Both are computed every day: `ibnr` books the method in force, `ibnr_bf` is BF, a second method beside it.
The triangle is by month, as the medical line's: within a month the chain-ladder sets the month's payments
so far against whole months' development and reads low for its newest covers (8.92 against BF's 279.28 on the
10th of a month in one simulated book; they agree at the month's end). So, reserving prudently (谨慎性原则 of
the same rules), the chain-ladder's IBNR is booked only where it is not below BF's, and BF's otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from puhui.insurance.models import Cover, earned_through
from puhui.insurance.reserves import models
from puhui.insurance.reserves.lines import RETURN_SHIPPING, LineFigures
from puhui.insurance.returns.models import COVER_DAYS as COVER_DAYS  # the term, the returns module's own
from puhui.insurance.returns.models import cover_of as cover_of

CHAIN_LADDER_MONTHS = 3
CHAIN_LADDER, BORNHUETTER_FERGUSON = "chain_ladder", "bornhuetter_ferguson"


@dataclass(frozen=True, slots=True)
class ReturnCover:
    """One return-shipping cover as the reserves read it: its order date, premium, fixed claim and priced
    return probability, and the date its claim was paid if it was (by the valuation date)."""

    order_day: dt.date
    premium: int
    claim_amount: int
    return_probability: Decimal
    claimed_on: dt.date | None = None

    @property
    def cover(self) -> Cover:
        return cover_of(self.order_day, self.premium)

    def claimed_by(self, day: dt.date) -> bool:
        return self.claimed_on is not None and self.claimed_on <= day

    def earned_through(self, day: dt.date) -> int:
        """Premium earned by the end of `day`: all of it from the day of its claim, else pro rata by day."""
        if day < self.order_day:
            return 0
        return self.premium if self.claimed_by(day) else earned_through(self.cover, day)

    def running(self, day: dt.date) -> bool:
        """Bought by `day`, not claimed by it and its term not over at its end: its claim may yet come."""
        return self.order_day <= day < self.cover.end - dt.timedelta(days=1) and not self.claimed_by(day)

    @property
    def expected_claim(self) -> Decimal:
        """The a-priori claim (fen): the priced return probability × the claim amount."""
        return self.return_probability * self.claim_amount


@dataclass(slots=True)
class OpenMonth:
    """The covers bought in one month and still running at the valuation date: their earned premium,
    premium and a-priori claims (fen)."""

    earned: int = 0
    premium: int = 0
    expected: Decimal = field(default_factory=Decimal)

    @property
    def share(self) -> Decimal:
        """The share of their term already run (earned ÷ premium), 0 without running covers."""
        return Decimal(self.earned) / Decimal(self.premium) if self.premium else Decimal(0)


def open_months(covers: Iterable[ReturnCover], day: dt.date) -> dict[int, OpenMonth]:
    """The running covers at the end of `day` by order month (`models.month_of`)."""
    months: dict[int, OpenMonth] = {}
    for c in covers:
        if c.running(day):
            month = months.setdefault(models.month_of(c.order_day), OpenMonth())
            month.earned += c.earned_through(day)
            month.premium += c.premium
            month.expected += c.expected_claim
    return months


def payments_of(covers: Iterable[ReturnCover], day: dt.date) -> list[models.Payment]:
    """The claims paid by the end of `day` as the triangle reads them: accident date the order's, paid
    date the claim's."""
    return [
        models.Payment(c.order_day, c.claimed_on, c.claim_amount)
        for c in covers
        if c.claimed_on is not None and c.claimed_on <= day
    ]


def split(unpaid: Mapping[int, Decimal | int], months: Mapping[int, OpenMonth]) -> int:
    """IBNR: each order month's still-to-pay × the share of its running covers' term already run, to the
    fen (half up) month by month."""
    return sum(models.fen(Decimal(unpaid.get(m, 0)) * open_.share) for m, open_ in months.items())


def chain_ladder_ibnr(triangle: models.Triangle, months: Mapping[int, OpenMonth]) -> int:
    """IBNR from the chain-ladder's still-to-pay of each order month."""
    estimates = models.chain_ladder(triangle)
    return split({triangle.first_month + row: e.unpaid for row, e in enumerate(estimates)}, months)


def bornhuetter_ferguson_ibnr(months: Mapping[int, OpenMonth]) -> int:
    """IBNR from the a-priori claims of each month's running covers (BF with the line's pattern)."""
    return split({m: open_.expected for m, open_ in months.items()}, months)


def ibnr_method(triangle: models.Triangle) -> str:
    """Chain-ladder once the triangle spans `CHAIN_LADDER_MONTHS` accident months, else BF."""
    return CHAIN_LADDER if triangle.ages >= CHAIN_LADDER_MONTHS else BORNHUETTER_FERGUSON


def line_figures(
    covers: Iterable[ReturnCover],
    day: dt.date,
    payments: Iterable[models.Payment] | None = None,
    settled: tuple[int, int] = (0, 0),
) -> LineFigures:
    """The line's figures at the end of `day` over `covers` (those bought after `day` are left out).

    `settled` is (how many, premium) of covers known to be fully earned and closed by `day` without being
    listed (bought before the last term began); `payments` the line's claims for the triangle when the
    covers listed are not all of them (else read off the covers)."""
    known = [c for c in covers if c.order_day <= day]
    paid_claims = payments_of(known, day) if payments is None else [p for p in payments if p.paid_date <= day]
    months = open_months(known, day)
    triangle = models.paid_triangle(paid_claims, day)
    method = ibnr_method(triangle)
    bf = bornhuetter_ferguson_ibnr(months)
    ibnr = max(chain_ladder_ibnr(triangle, months), bf) if method == CHAIN_LADDER else bf  # never below BF
    count, premium = settled
    return LineFigures(
        line=RETURN_SHIPPING,
        policies=count + len(known),
        written=premium + sum(c.premium for c in known),
        refunded=0,
        earned=premium + sum(c.earned_through(day) for c in known),
        paid=sum(p.amount for p in paid_claims),
        case_reserve=0,
        ibnr=ibnr,
        ibnr_bf=bf,
        ibnr_method=method,
    )
