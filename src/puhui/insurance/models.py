"""Insurance values and rules (no I/O): a medical product as data (百万医疗-style), its quote by age
band and social-insurance status, earned premium and the unearned premium reserve (未到期责任准备金)
day by day, the refund of a cancelled policy, and what a medical claim pays.

Money is integer fen. Premium is earned evenly over the days of cover, by whole fen and without
loss: the premium earned through a day is the premium × days elapsed ÷ days of cover, rounded down,
and the last day earns the rest, so the days of a policy add up to its premium exactly.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from puhui.insurance.errors import AgeNotCovered, CancellationDateInvalid, ClaimOutsideCover, InsuranceProductInvalid


class LossKind(enum.StrEnum):
    """What caused the expense: an accident (意外) is covered from the first day, an illness (疾病)
    only after the waiting period (等待期)."""

    accident = "accident"
    illness = "illness"


@dataclass(frozen=True, slots=True)
class AgeBand:
    """One row of the premium table (费率表): yearly premium in fen for ages min_age..max_age."""

    min_age: int
    max_age: int
    with_social_insurance: int  # 有社保
    without_social_insurance: int  # 无社保


@dataclass(frozen=True, slots=True)
class MedicalProduct:
    """A version of a 百万医疗-style medical product. A policy points to its version forever.

    Two periods from the start of cover guard against insuring a loss already under way: the waiting
    period (等待期, `waiting_days`) in which an illness is not covered at all, and the early-claim period
    (`early_claim_days`, 0 for none) in which any claim, an accident's too (accidents have no waiting
    period), is covered but goes to a person (人工审核): a claim soon after the policy starts is the classic
    sign of a policy bought after the event (带病投保, 先出险后投保)."""

    code: str
    version: int
    name: str
    bands: tuple[AgeBand, ...]
    deductible: int = 10_000_00  # 免赔额: 10,000 CNY per policy year
    annual_limit: int = 3_000_000_00  # 年度限额
    ratio_with_social: Decimal = Decimal(1)  # 赔付比例, expenses settled through social insurance first
    ratio_without_social: Decimal = Decimal("0.6")
    waiting_days: int = 30  # 等待期, illness only
    early_claim_days: int = 0  # 出险距生效日过近: a claim for an event this soon after cover starts goes to review
    cooling_off_days: int = 15  # 犹豫期: cancelled within it, the whole premium comes back
    guaranteed_renewal_years: int = 0  # 保证续保 (0: renewal not guaranteed)

    def __post_init__(self) -> None:
        check_product(self)


def check_product(product: MedicalProduct) -> None:
    """A product's terms in range and its bands ordered without gaps or overlaps."""
    if not product.code or product.version < 1:
        raise InsuranceProductInvalid("a product has a code and a version from 1")
    days = (product.waiting_days, product.cooling_off_days, product.early_claim_days)
    if min(product.deductible, product.annual_limit, *days) < 0:
        raise InsuranceProductInvalid("deductible, limit, waiting, cooling-off and early-claim days are not negative")
    for ratio in (product.ratio_with_social, product.ratio_without_social):
        if not Decimal(0) < ratio <= 1:
            raise InsuranceProductInvalid("a reimbursement ratio is above 0 and at most 1")
    if not product.bands:
        raise InsuranceProductInvalid("a product has a premium table")
    previous_max = product.bands[0].min_age - 1
    for band in product.bands:
        if band.min_age != previous_max + 1 or band.max_age < band.min_age:
            raise InsuranceProductInvalid("age bands run in order, without gaps or overlaps")
        if band.with_social_insurance <= 0 or band.without_social_insurance <= 0:
            raise InsuranceProductInvalid("premiums are positive")
        previous_max = band.max_age


def age_on(born: dt.date, day: dt.date) -> int:
    """Full years of age (周岁) on `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def quote(product: MedicalProduct, age: int, has_social_insurance: bool) -> int:
    """The yearly premium in fen (保费) for the insured's age and social-insurance status."""
    for band in product.bands:
        if band.min_age <= age <= band.max_age:
            return band.with_social_insurance if has_social_insurance else band.without_social_insurance
    raise AgeNotCovered(
        f"{product.code} v{product.version} covers ages {product.bands[0].min_age}-"
        f"{product.bands[-1].max_age}, not {age}"
    )


@dataclass(frozen=True, slots=True)
class Cover:
    """A policy's period of cover (保险期间): from `start` (inclusive) to `end` (exclusive)."""

    start: dt.date
    end: dt.date
    premium: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days


class CoverState(enum.StrEnum):
    """Where a policy's cover stands on a day: not in force before its first day (待生效), in force (保障中),
    over from its exclusive end date (已到期), or cancelled (已退保)."""

    awaiting_start = "awaiting_start"
    in_force = "in_force"
    ended = "ended"
    cancelled = "cancelled"


def cover_state(status: str, cover: Cover, day: dt.date) -> CoverState:
    """A policy of contract `status` (active or cancelled) on `day`."""
    if status != "active":
        return CoverState.cancelled
    if day < cover.start:
        return CoverState.awaiting_start
    return CoverState.ended if day >= cover.end else CoverState.in_force


def one_year_from(start: dt.date, premium: int) -> Cover:
    """A year of cover from `start` (to the same date next year; 29 February to 1 March)."""
    try:
        end = start.replace(year=start.year + 1)
    except ValueError:
        end = dt.date(start.year + 1, 3, 1)
    return Cover(start, end, premium)


def earned_through(cover: Cover, day: dt.date) -> int:
    """Premium earned (已赚保费) by the end of `day`, in fen: 0 before cover, all of it from its last day."""
    elapsed = min(max((day - cover.start).days + 1, 0), cover.days)
    if elapsed == cover.days:
        return cover.premium
    return int((Decimal(cover.premium) * elapsed / cover.days).to_integral_value(rounding=ROUND_DOWN))


def earned_on(cover: Cover, day: dt.date) -> int:
    """Premium earned on `day` alone: what the day's end of day moves from unearned to earned."""
    return earned_through(cover, day) - earned_through(cover, day - dt.timedelta(days=1))


def unearned_reserve(cover: Cover, day: dt.date) -> int:
    """The unearned premium reserve (未到期责任准备金) at the end of `day`: premium not yet earned."""
    return cover.premium - earned_through(cover, day)


def cancellation_refund(product: MedicalProduct, cover: Cover, cancelled_on: dt.date) -> int:
    """What a policy cancelled on `cancelled_on` refunds: everything before its cover starts (待生效) and
    within the cooling-off period (犹豫期, counted from the start of cover), after it the unearned premium
    (按日退还未满期保费), the day of cancellation being earned."""
    if cancelled_on >= cover.end:
        raise CancellationDateInvalid(f"cover runs {cover.start} to {cover.end}, not {cancelled_on}")
    if (cancelled_on - cover.start).days < product.cooling_off_days or cancelled_on < cover.start:
        return cover.premium
    return unearned_reserve(cover, cancelled_on)


class RefundReason(enum.StrEnum):
    """Why a cancellation (退保) refunds what it does: a stable code the API answers and pages word."""

    cooling_off = "cooling_off"  # within the cooling-off period (犹豫期): the whole premium
    unearned_premium = "unearned_premium"  # after it: the unearned premium (未满期保费), pro rata by day
    claim_paid = "claim_paid"  # a benefit paid or approved under the policy (已发生保险金给付): nothing


@dataclass(frozen=True, slots=True)
class Cancellation:
    """What cancelling a policy on `cancelled_on` refunds and why, with the facts the reason rests on:
    the last day of the cooling-off period, the days of cover left after the day of cancellation (which is
    earned; all of them before the cover starts), and the benefits paid (`claims_paid`) or approved and still
    owed (`claims_owed`). `before_cover`: cancelled before the first day of cover (待生效)."""

    refund: int
    reason: RefundReason
    cancelled_on: dt.date
    cooling_off_last_day: dt.date
    days_left: int
    claims_paid: int = 0
    claims_owed: int = 0
    before_cover: bool = False


def days_left_after(cover: Cover, cancelled_on: dt.date) -> int:
    """The days of cover after the day of cancellation (which is earned): all of them before cover starts."""
    return min((cover.end - cancelled_on).days - 1, cover.days)


def cancellation(
    product: MedicalProduct, cover: Cover, cancelled_on: dt.date, claims_paid: int = 0, claims_owed: int = 0
) -> Cancellation:
    """The refund of a cancellation on `cancelled_on` (`cancellation_refund`) and its reason; a policy under
    which a benefit has been paid or approved refunds nothing, within the cooling-off period or after it
    (已发生保险金给付的，不退还保险费): its cover was used. Before the cover starts the whole premium comes back
    (reason `cooling_off`: the cooling-off period is counted from the start of cover)."""
    refund = cancellation_refund(product, cover, cancelled_on)
    last = cover.start + dt.timedelta(days=product.cooling_off_days - 1)
    days_left = days_left_after(cover, cancelled_on)
    if claims_paid + claims_owed > 0:
        reason, refund = RefundReason.claim_paid, 0
    elif cancelled_on <= last or cancelled_on < cover.start:
        reason = RefundReason.cooling_off
    else:
        reason = RefundReason.unearned_premium
    before = cancelled_on < cover.start
    return Cancellation(refund, reason, cancelled_on, last, days_left, claims_paid, claims_owed, before)


@dataclass(frozen=True, slots=True)
class ClaimBenefit:
    """A medical claim's arithmetic: expense, less what social insurance paid, less what other cover has
    already paid for the same bill or what is left of the deductible, whichever is more, times the ratio,
    capped at what is left of the year's limit."""

    expense: int
    deductible_applied: int
    payable: int
    reason: str  # "paid", "waiting_period", "within_deductible", "limit_reached", "already_indemnified"


def claim_benefit(
    product: MedicalProduct,
    cover: Cover,
    loss_day: dt.date,
    kind: LossKind,
    expense: int,
    social_insurance_paid: int,
    has_social_insurance: bool,
    deductible_used: int,
    paid_this_year: int,
    other_compensation: int = 0,
) -> ClaimBenefit:
    """What the insurer pays on one claim (理赔金额). `deductible_used` and `paid_this_year` are what
    the policy's earlier claims this policy year have used.

    Indemnity (补偿原则): `other_compensation` is what other indemnity cover has already paid for the same
    bill (the insured's other medical claims of the same event, on this platform). A medical policy pays
    only on the balance the insured still bears after social insurance and that compensation
    (扣除已获补偿后的余额), and, as 百万医疗 clauses word it, compensation from other commercial cover
    counts toward the deductible (其他途径获得的补偿可抵扣免赔额) while social insurance does not:

        payable = ratio × (expense − social insurance − max(deductible left, other compensation))

    floored at 0 and capped by the annual limit. With the ratio at most 1 the benefit never exceeds
    `expense − social insurance − other compensation`, so the claims of one bill never add up to more
    than the bill less social insurance. The deductible applied is what the bill (after social insurance)
    meets of the deductible left, whoever compensates it."""
    if not cover.start <= loss_day < cover.end:
        raise ClaimOutsideCover(f"cover runs {cover.start} to {cover.end}, the loss is on {loss_day}")
    amounts = (expense, social_insurance_paid, deductible_used, paid_this_year, other_compensation)
    if min(amounts) < 0 or social_insurance_paid > expense:
        raise InsuranceProductInvalid("expenses and payments are not negative; social insurance pays at most all")
    if kind is LossKind.illness and (loss_day - cover.start).days < product.waiting_days:
        return ClaimBenefit(expense, 0, 0, "waiting_period")
    remaining = expense - social_insurance_paid
    deductible = min(remaining, max(product.deductible - deductible_used, 0))
    ratio = product.ratio_with_social if has_social_insurance else product.ratio_without_social
    borne = max(remaining - max(deductible, other_compensation), 0)
    payable = int((Decimal(borne) * ratio).to_integral_value(rounding=ROUND_DOWN))
    limited = min(payable, max(product.annual_limit - paid_this_year, 0))
    if limited > 0:
        reason = "paid"
    elif payable > 0:
        reason = "limit_reached"
    else:
        reason = "already_indemnified" if other_compensation >= remaining > 0 else "within_deductible"
    return ClaimBenefit(expense, deductible, limited, reason)


@dataclass(frozen=True, slots=True)
class ReturnShippingProduct:
    """A version of return-shipping insurance (退货运费险): a fixed claim when goods go back, priced per
    order so that the expected loss ratio (赔付率) is the product's target."""

    code: str
    version: int
    claim_amount: int = 10_00  # the fixed payout for the return postage
    target_loss_ratio: Decimal = Decimal("0.7")
    min_premium: int = 10
    credibility_orders: int = 20  # orders at which a buyer's own return rate weighs half

    def __post_init__(self) -> None:
        if not self.code or self.version < 1 or self.claim_amount <= 0 or self.credibility_orders <= 0:
            raise InsuranceProductInvalid("a product has a code, a version from 1 and a positive claim")
        if not Decimal(0) < self.target_loss_ratio <= 1 or not 0 < self.min_premium <= self.claim_amount:
            raise InsuranceProductInvalid("the target loss ratio is in (0, 1], the least premium in (0, claim]")


def return_probability(
    product: ReturnShippingProduct, buyer_returns: int, buyer_orders: int, merchant_return_rate: Decimal
) -> Decimal:
    """The chance this order goes back: the buyer's own return rate, trusted in proportion to how many
    orders it rests on (credibility, 信度), and the merchant's rate for the rest."""
    if not 0 <= buyer_returns <= buyer_orders or not Decimal(0) <= merchant_return_rate <= 1:
        raise InsuranceProductInvalid("returns are at most orders; a return rate is from 0 to 1")
    if buyer_orders == 0:
        return merchant_return_rate
    weight = Decimal(buyer_orders) / (buyer_orders + product.credibility_orders)
    return weight * Decimal(buyer_returns) / buyer_orders + (1 - weight) * merchant_return_rate


def return_shipping_premium(product: ReturnShippingProduct, probability: Decimal) -> int:
    """The order's premium in fen: expected claim ÷ target loss ratio, rounded up to the fen (so the
    expected loss ratio never exceeds the target), at least the product's least premium, at most the claim."""
    expected = probability * product.claim_amount / product.target_loss_ratio
    premium = int(expected.to_integral_value(rounding=ROUND_CEILING))
    return min(max(premium, product.min_premium), product.claim_amount)
