"""Repayment allocation (还款冲销顺序): a payment settles what is owed part by part in the
product's order, by default penalty (罚息) → fees (费用) → interest (利息) → principal (本金)."""

from __future__ import annotations

from dataclasses import dataclass

from puhui.lending.errors import ProductInvalid, RepaymentExceedsOwed, RepaymentInvalid
from puhui.lending.products import ALLOCATION_PARTS, DEFAULT_ALLOCATION
from puhui.money import format_minor


@dataclass(frozen=True)
class Owed:
    """What is due now, in fen."""

    penalty: int
    fees: int
    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.penalty + self.fees + self.interest + self.principal


@dataclass(frozen=True)
class Allocation:
    """How much of a payment went to each part, in fen."""

    penalty: int
    fees: int
    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.penalty + self.fees + self.interest + self.principal


def allocate(amount: int, owed: Owed, order: tuple[str, ...] = DEFAULT_ALLOCATION) -> Allocation:
    """Split `amount` over `owed` in `order`; RepaymentExceedsOwed (422) when it is more than owed."""
    if sorted(order) != sorted(ALLOCATION_PARTS):
        raise ProductInvalid(f"allocation order must order exactly {', '.join(ALLOCATION_PARTS)}")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise RepaymentInvalid("a repayment is a non-negative integer of fen")
    if any(getattr(owed, part) < 0 for part in ALLOCATION_PARTS):
        raise RepaymentInvalid("amounts owed must not be negative")
    if amount > owed.total:
        raise RepaymentExceedsOwed(
            f"repayment {format_minor(amount, 2)} exceeds the {format_minor(owed.total, 2)} owed",
            owed=format_minor(owed.total, 2),
        )
    left, parts = amount, {}
    for part in order:
        parts[part] = min(left, getattr(owed, part))
        left -= parts[part]
    return Allocation(**parts)
