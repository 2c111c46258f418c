"""Payment values and rules (no I/O): merchant fees, refund limits, QR codes and their limits.

QR limits follow the 2017 barcode payment rules (条码支付业务规范, 银发〔2017〕296号, §13). A level's limit
is on the customer's whole day of barcode payments (同一客户单日累计交易金额), static and dynamic, however
each was verified: a payment at level C (fewer than two factors) is allowed only while the day's total
with it stays within 1,000 CNY, at level B (two or more factors) within 5,000 CNY, and at level A (a
digital certificate or electronic signature plus two factors) by agreement with the customer, with no
cap of the platform's (it still counts on the day's total). A payment by a static code (静态条码) must
also keep the day's static total within 500 CNY, whatever its verification.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from puhui.errors import InvalidInput
from puhui.money import format_minor
from puhui.payments.errors import RefundExceedsPayment

BASIS_POINTS = 10_000


class QrKind(enum.StrEnum):
    static = "static"  # 静态码: printed per merchant, payer enters the amount
    dynamic = "dynamic"  # 动态码: per order, amount fixed, expires


class Purpose(enum.StrEnum):
    """A P2P transfer's declared purpose (用途): 工资 payroll, 房租 rent, 礼金 gift, 团购 group buying,
    家用 family, 其他 other. The payer's word, shown back to them and used by the monitor as context."""

    payroll = "payroll"
    rent = "rent"
    gift = "gift"
    group_buying = "group_buying"
    family = "family"
    other = "other"


class VerificationStrength(enum.StrEnum):
    """How the payer confirmed a dynamic-QR payment (交易验证方式)."""

    certificate = "certificate"  # digital certificate or e-signature plus two factors (A)
    two_factors = "two_factors"  # two or more independent factors, e.g. password + device (B)
    one_factor = "one_factor"  # fewer than two factors (C/D)


STATIC_QR_DAILY_LIMIT = 500_00
QR_DAILY_LIMITS: dict[VerificationStrength, int | None] = {
    VerificationStrength.certificate: None,  # A: by agreement with the customer
    VerificationStrength.two_factors: 5_000_00,  # B
    VerificationStrength.one_factor: 1_000_00,  # C
}
QR_DAY_BUCKET = "qr_day"  # every QR payment of the customer's business day, static and dynamic, any level
QR_STATIC_BUCKET = "qr_static"  # the static-code payments of the day


def qr_daily_limits(kind: QrKind, strength: VerificationStrength) -> list[tuple[str, int | None]]:
    """The day totals a QR payment counts on, each with the limit in fen it must keep that total within
    (None: by agreement, counted but not capped): the day's total of every QR payment, capped by the
    payment's verification level; and for a static code the day's static total, capped at 500 CNY."""
    limits: list[tuple[str, int | None]] = [(QR_DAY_BUCKET, QR_DAILY_LIMITS[strength])]
    if kind == QrKind.static:
        limits.append((QR_STATIC_BUCKET, STATIC_QR_DAILY_LIMIT))
    return limits


def merchant_fee(amount: int, rate_bp: int) -> int:
    """The merchant discount fee (商户手续费) in fen: amount × rate, half-up to the fen."""
    if amount < 0 or not 0 <= rate_bp <= BASIS_POINTS:
        raise InvalidInput("fee needs a non-negative amount and a rate between 0 and 10,000 bp")
    return int((Decimal(amount) * rate_bp / BASIS_POINTS).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PaymentTotals:
    """What a payment has become after its refunds (fen)."""

    amount: int
    fee: int
    refunded: int = 0
    fee_refunded: int = 0

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded


def refund_split(totals: PaymentTotals, refund: int) -> tuple[int, int]:
    """(amount, fee returned to the merchant) for a refund; the fee goes back pro rata.

    The fee returned so far always equals the fee on the refunded total, half-up, so a payment
    refunded in parts returns exactly its whole fee by the last part — the residue never strays.
    """
    if refund <= 0:
        raise InvalidInput("a refund must be greater than zero")
    if refund > totals.refundable:
        raise RefundExceedsPayment(
            f"at most {format_minor(totals.refundable, 2)} CNY can still be refunded",
            refundable=format_minor(totals.refundable, 2),
        )
    refunded_after = totals.refunded + refund
    if refunded_after == totals.amount:
        fee_after = totals.fee
    else:
        fee_after = int(
            (Decimal(totals.fee) * refunded_after / totals.amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )
    return refund, fee_after - totals.fee_refunded
