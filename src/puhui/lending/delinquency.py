"""Delinquency (逾期): buckets by days past due and the five-category loan classification (贷款五级分类).

Buckets: current (正常), M1 1–30 days, M2 31–60, M3 61–90, M3+ over 90.
Classification, by days past due as the documented rule (the CBIRC 2023 measures on risk
classification use the same 90/180/360-day break points for retail loans):
0 normal (正常), 1–90 special mention (关注), 91–180 substandard (次级), 181–360 doubtful (可疑),
over 360 loss (损失). Provisions (贷款损失准备) are a rate of the outstanding principal per class.
"""

from __future__ import annotations

import enum
from decimal import ROUND_HALF_UP, Decimal

from puhui.errors import InvalidInput

BUCKETS = (("current", 0), ("M1", 30), ("M2", 60), ("M3", 90))


class LoanClass(enum.StrEnum):
    normal = "normal"  # 正常
    special_mention = "special_mention"  # 关注
    substandard = "substandard"  # 次级
    doubtful = "doubtful"  # 可疑
    loss = "loss"  # 损失


CLASS_LIMITS = (
    (LoanClass.normal, 0),
    (LoanClass.special_mention, 90),
    (LoanClass.substandard, 180),
    (LoanClass.doubtful, 360),
)

PROVISION_RATES: dict[LoanClass, Decimal] = {
    LoanClass.normal: Decimal("0.01"),
    LoanClass.special_mention: Decimal("0.02"),
    LoanClass.substandard: Decimal("0.25"),
    LoanClass.doubtful: Decimal("0.50"),
    LoanClass.loss: Decimal(1),
}


def _days(days_past_due: int) -> int:
    if isinstance(days_past_due, bool) or not isinstance(days_past_due, int) or days_past_due < 0:
        raise InvalidInput("days past due must be a non-negative integer")
    return days_past_due


def delinquency_bucket(days_past_due: int) -> str:
    """ "current", "M1" (1–30), "M2" (31–60), "M3" (61–90) or "M3+" (over 90)."""
    days = _days(days_past_due)
    return next((name for name, limit in BUCKETS if days <= limit), "M3+")


def loan_class(days_past_due: int) -> LoanClass:
    days = _days(days_past_due)
    return next((cls for cls, limit in CLASS_LIMITS if days <= limit), LoanClass.loss)


def provision_for(outstanding_principal: int, cls: LoanClass) -> int:
    """The provision in fen: outstanding principal × the class's rate, half-up to the fen."""
    if (
        isinstance(outstanding_principal, bool)
        or not isinstance(outstanding_principal, int)
        or outstanding_principal < 0
    ):
        raise InvalidInput("outstanding principal must be a non-negative integer of fen")
    amount = outstanding_principal * PROVISION_RATES[LoanClass(cls)]
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
