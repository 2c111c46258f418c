"""Payments errors, each with a stable machine code (RFC 9457 problems through the API)."""

from __future__ import annotations

from puhui.errors import Conflict, Forbidden, InvalidInput, NotFound, PuhuiError, Unauthorized


class BankChannelError(PuhuiError):
    """Root of the bank channel's errors (each subclass also has its HTTP-ish base)."""

    code = "bank_channel_error"
    title = "Bank channel error"


class InvalidBankOrder(BankChannelError, InvalidInput):
    code = "invalid_bank_order"
    title = "The bank order is not valid"


class BankOrderConflict(BankChannelError, Conflict):
    code = "bank_order_conflict"
    title = "A different order was already submitted under this order id"


class BankOrderNotFound(BankChannelError, NotFound):
    code = "bank_order_not_found"
    title = "The bank has no order with this id"


class ChannelUnavailable(BankChannelError):
    """The call's outcome is unknown (timeout, connection reset): retry with the same order."""

    code = "bank_channel_unavailable"
    status = 503
    title = "The bank channel did not answer; the order may or may not have been accepted"


class MalformedNotification(BankChannelError, InvalidInput):
    code = "malformed_notification"
    title = "The notification body is not a valid notification"


class StatementNotReady(BankChannelError, Conflict):
    code = "statement_not_ready"
    title = "The business date has not ended; its statement is not published yet"


class InvalidFaultPlan(InvalidInput):
    code = "invalid_fault_plan"
    title = "The sandbox fault plan is not valid"


MIN_KEY_BYTES = 16  # a notification signing key's least length (HMAC-SHA256 over the body)


class WeakSigningKey(BankChannelError, InvalidInput):
    code = "weak_signing_key"
    title = f"A notification signing key needs at least {MIN_KEY_BYTES} bytes"


class ForgedNotification(BankChannelError, Unauthorized):
    code = "forged_notification"
    title = "The notification's signature does not verify"


class StaleNotification(BankChannelError, Unauthorized):
    code = "stale_notification"
    title = "The notification was sent outside the accepted time window"


class ReplayedNotification(StaleNotification):
    code = "replayed_notification"
    title = "The notification was received before (same nonce)"


class MalformedStatement(BankChannelError, InvalidInput):
    code = "malformed_statement"
    title = "The statement file is malformed"

    def __init__(self, detail: str = "", line: int | None = None) -> None:
        super().__init__(f"line {line}: {detail}" if line is not None else detail, line=line)
        self.line = line


class RefundExceedsPayment(InvalidInput):
    code = "refund_exceeds_payment"
    title = "Refund is larger than what remains refundable"


class QrExpired(Conflict):
    code = "qr_code_expired"
    title = "The QR code has expired"


class MerchantBalanceInsufficient(Conflict):
    """A refund the merchant's available balance (its wallet and its refund funds) cannot pay: its takings
    were settled to its bank account. It tops up from that account (商户充值), then refunds again."""

    code = "merchant_balance_insufficient"
    title = "The merchant's available balance cannot pay this refund"


class RefundFundsInsufficient(Conflict):
    """A withdrawal of refund funds (退款资金提现) above what is available in them (their pending top-ups
    and withdrawals not counted)."""

    code = "refund_funds_insufficient"
    title = "The merchant's refund funds cannot cover this withdrawal"


class PayablesFundsInsufficient(Conflict):
    """A withdrawal of a core enterprise's payables funds (兑付资金) above what is available in them (their
    pending top-ups and withdrawals not counted)."""

    code = "payables_funds_insufficient"
    title = "The core enterprise's payables funds cannot cover this withdrawal"


class AmountAboveOrderMaximum(InvalidInput):
    """A merchant's bank order (a top-up of its refund funds, or their withdrawal) above the largest single
    order (`wallets.MAX_MERCHANT_ORDER`)."""

    code = "amount_above_order_maximum"
    title = "The amount is above the largest single bank order"


class LimitExceeded(Conflict):
    code = "limit_exceeded"
    title = "The payment exceeds a limit"


class InvalidNotifyUrl(InvalidInput):
    code = "invalid_notify_url"
    title = "The notify URL is not one the platform can post to"


class WalletSpent(Conflict):
    code = "wallet_spent"
    title = "The wallet has already spent the money to be reversed"


class PlatformFundsShort(PuhuiError):
    code = "platform_funds_short"
    status = 409
    title = "The platform's own account cannot fund this"


class ReviewNotPending(Conflict):
    code = "review_not_pending"
    title = "The review was already decided or has expired"


class ReviewNotFound(NotFound):
    code = "review_not_found"
    title = "No such payment review"


class PaymentDeclined(Forbidden):
    code = "payment_declined"
    title = "The payment was declined by risk control"


class PaymentUnderReview(Conflict):
    code = "payment_under_review"
    title = "The payment needs a manual review and was not made"


class PayeeClosed(Conflict):
    """A payment to a payee whose wallet is closed (注销: a closed customer, or a merchant's wallet closed by
    the ledger's operators): refused before any money moves, whatever the ledger would have said."""

    code = "payee_closed"
    title = "The payee's account is closed and cannot be paid"


class QrNotPayable(Conflict):
    code = "qr_code_not_payable"
    title = "The QR code is no longer open for payment"


class OrderRefInUse(Conflict):
    """A dynamic QR code for a merchant order (商户订单号) that another code of the merchant already holds: open
    or paid (`qr_code_id`, `qr_code_status`). Cancel it, or let it expire unpaid, to make a new one."""

    code = "order_ref_in_use"
    title = "The merchant already has an open or paid QR code for this order"


class UnknownTransactionKind(InvalidInput):
    """A wallet statement filtered by a `kind` that is no transfer code the statement can show (`allowed`)."""

    code = "unknown_transaction_kind"
    title = "The statement has no transactions of this kind"


class PaymentConflict(Conflict):
    code = "payment_id_reused"
    title = "This client payment id was already used for a different payment"


class VerificationNotProven(Forbidden):
    code = "verification_not_proven"
    title = "The payment asks for a verification level it does not prove"


class VerificationUnsupported(InvalidInput):
    code = "verification_unsupported"
    title = "Puhui issues no digital certificates: level A verification is not available"


class BankNotificationMismatch(Conflict):
    code = "bank_notification_mismatch"
    title = "The bank reports an amount or kind that differs from the order"


class TopUpNotFound(NotFound):
    code = "top_up_not_found"
    title = "The customer has no top-up with this id"


class WithdrawalNotFound(NotFound):
    code = "withdrawal_not_found"
    title = "The customer has no withdrawal with this id"


class UnknownPurpose(InvalidInput):
    code = "unknown_purpose"
    title = "A transfer's purpose must be one of payroll, rent, gift, group_buying, family, other"


class WalletUnverified(Forbidden):
    """Money into or out of a wallet through the bank while it has no payment account class yet
    (支付账户未实名): verify first."""

    code = "wallet_unverified"
    title = "The wallet is not verified; verify the customer before topping up or withdrawing"


class BillRangeInvalid(InvalidInput):
    code = "bill_range_invalid"
    title = "A statement's range runs from a date to the same or a later one"
