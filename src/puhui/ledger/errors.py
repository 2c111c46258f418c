"""Ledger errors (whole-request failures; per-transfer outcomes are `TransferResult` codes)."""

from puhui.errors import Conflict, InvalidInput, NotFound, PuhuiError


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


class InsufficientFunds(Conflict):
    """A debit the account cannot cover (its balance rule refuses it): 余额不足."""

    code = "insufficient_funds"
    title = "The account does not hold enough money"


class LedgerRefused(Conflict):
    """The ledger refused a transfer for any other reason (its result code is in the detail)."""

    code = "ledger_refused"
    title = "The ledger refused the transfers"


Shortfall = type[PuhuiError]


class OpeningLoadRefused(LedgerError):
    """A bulk opening load (期初余额导入, `puhui.ledger.seed`) breaks a ledger rule: nothing is loaded."""

    code = "opening_load_refused"
    title = "The opening balances break a ledger rule"
