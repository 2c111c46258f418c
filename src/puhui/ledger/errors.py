"""Ledger errors (whole-request failures; per-transfer outcomes are `TransferResult` codes)."""

from puhui.errors import InvalidInput, NotFound


class LedgerError(InvalidInput):
    code = "ledger_error"


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"


class LedgerNotFound(LedgerError):
    code = "ledger_not_found"
    title = "Unknown ledger (currency or asset)"


class AccountCodeNotFound(LedgerError):
    code = "account_code_not_found"
    title = "Account code is not in the chart of accounts"


class InvalidAccount(LedgerError):
    code = "invalid_account"
    title = "Invalid account"


class BatchTooLarge(LedgerError):
    code = "batch_too_large"
    title = "Too many transfers in one batch"
