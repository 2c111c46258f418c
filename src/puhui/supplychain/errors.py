"""Supply-chain finance errors, each with a stable code (RFC 9457 problem `code`)."""

from __future__ import annotations

from puhui.errors import Conflict, Forbidden, InvalidInput, NotFound


class CoreEnterpriseNotFound(NotFound):
    code = "core_enterprise_not_found"
    title = "The merchant is not a registered core enterprise (核心企业)"


class SupplierNotFound(NotFound):
    code = "supplier_not_found"
    title = "The supplier is not a merchant with a wallet"


class ReceivableNotFound(NotFound):
    code = "receivable_not_found"
    title = "Receivable not found"


class InvalidDiscountRate(InvalidInput):
    code = "invalid_discount_rate"
    title = "The annual discount rate is a decimal above 0 and at most the cap, with at most 6 places"


class InvalidMaturity(InvalidInput):
    code = "invalid_maturity_date"
    title = "The maturity date must be after today and within the longest tenor"


class SupplierIsCore(InvalidInput):
    code = "supplier_is_core_enterprise"
    title = "A core enterprise cannot confirm a payable to itself"


class LimitExceeded(Conflict):
    code = "credit_limit_exceeded"
    title = "Confirming this payable would exceed the core enterprise's financing limit (授信额度)"


class InvoiceAlreadyConfirmed(Conflict):
    code = "invoice_already_confirmed"
    title = "This invoice was already confirmed with different details"


class AlreadyFinanced(Conflict):
    code = "receivable_already_financed"
    title = "The receivable was already financed; a receivable is financed only once"


class ReceivableMatured(Conflict):
    code = "receivable_matured"
    title = "The receivable has reached maturity and can no longer be financed"


class ReceivableNotOpen(Conflict):
    code = "receivable_not_open"
    title = "The receivable is already paid"


class NotDue(Conflict):
    code = "receivable_not_due"
    title = "The receivable is paid at maturity, not before"


class NotTheSupplier(Forbidden):
    code = "not_receivable_supplier"
    title = "Only the supplier holding the receivable may finance it"


class NotTheCore(Forbidden):
    code = "not_receivable_core"
    title = "Only the core enterprise that confirmed the payable may pay it"
