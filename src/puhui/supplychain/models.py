"""Pure rules of supply-chain finance (供应链金融): discount (贴现利息), tenor and limits.

Discount = face × annual discount rate × days / 360, half-up to the fen (the bill-discounting
convention of Chinese banks: actual days over a 360-day year).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from puhui.supplychain.errors import InvalidDiscountRate, InvalidMaturity

DAY_BASIS = 360
MAX_DISCOUNT_RATE = Decimal("0.24")  # the platform's annualized-rate cap (issue 5) bounds the discount rate
MAX_TENOR_DAYS = 365  # a confirmed payable matures within a year
RATE_PLACES = 6


class Status(str, enum.Enum):  # noqa: UP042 - str() of a member stays "Status.x" as stored code expects
    confirmed = "confirmed"  # 已确权: the supplier holds it
    financed = "financed"  # 已保理: sold to the platform
    overdue = "overdue"  # 逾期: unpaid after maturity
    paid = "paid"  # 已兑付


OPEN = (Status.confirmed.value, Status.financed.value, Status.overdue.value)


def parse_rate(value: str) -> Decimal:
    """An annual discount rate (年贴现率) as a decimal fraction: 0 < rate ≤ cap, ≤ 6 places."""
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidDiscountRate(f"{value!r} is not a decimal rate") from None
    if not rate.is_finite() or rate.as_tuple().exponent < -RATE_PLACES:  # type: ignore[operator]  # a finite Decimal's exponent is an int
        raise InvalidDiscountRate(f"{value!r} has more than {RATE_PLACES} decimal places")
    if not Decimal(0) < rate <= MAX_DISCOUNT_RATE:
        raise InvalidDiscountRate(f"the rate must be above 0 and at most {MAX_DISCOUNT_RATE}")
    return rate.normalize()


def discount(face: int, rate: Decimal, days: int) -> int:
    """Discount interest in fen: face × rate × days / 360, rounded half-up to the fen."""
    if face <= 0 or days <= 0:
        raise ValueError("face and days must be positive")
    exact = Decimal(face) * rate * Decimal(days) / Decimal(DAY_BASIS)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def discount_days(financed_on: dt.date, maturity: dt.date) -> int:
    """Days of discount: from the financing date to maturity (financing on the due date is refused)."""
    return (maturity - financed_on).days


def check_maturity(today: dt.date, maturity: dt.date) -> None:
    days = (maturity - today).days
    if not 0 < days <= MAX_TENOR_DAYS:
        raise InvalidMaturity(f"maturity {maturity} must be 1-{MAX_TENOR_DAYS} days after {today}")


def fits_limit(used: int, face: int, limit: int) -> bool:
    """Outstanding confirmed + financed after this payable stays within the limit."""
    return used + face <= limit
