"""Ledger values and rules (no I/O): accounts, transfers, flags and result codes.

Modelled on TigerBeetle. Amounts and balances are integer minor units of the account's ledger.
A transfer's id is chosen by the client and is its idempotency key.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from typing import TypeVar

ID_MAX_LENGTH = 64
USER_DATA_MAX_LENGTH = 256
MAX_BATCH = 8190
AMOUNT_MAX = 2**63 - 1
TIMEOUT_MAX = 2**31 - 1
ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]+$")

_Flags = TypeVar("_Flags", "AccountFlags", "TransferFlags")


class AccountFlags(enum.IntFlag):
    NONE = 0
    debits_must_not_exceed_credits = 1
    credits_must_not_exceed_debits = 2
    closed = 4

    @classmethod
    def parse(cls, names: list[str]) -> AccountFlags:
        return _parse_flags(cls, names)

    def names(self) -> list[str]:
        return _flag_names(self)


class TransferFlags(enum.IntFlag):
    NONE = 0
    linked = 1
    pending = 2
    post_pending = 4
    void_pending = 8

    @classmethod
    def parse(cls, names: list[str]) -> TransferFlags:
        return _parse_flags(cls, names)

    def names(self) -> list[str]:
        return _flag_names(self)


def _parse_flags(cls: type[_Flags], names: list[str]) -> _Flags:
    value = cls(0)
    for name in names:
        try:
            value |= cls[name]
        except KeyError:
            raise ValueError(f"unknown flag {name!r}") from None
    return value


def _flag_names(flags: enum.IntFlag) -> list[str]:
    """The names of the flags set, in declaration order (`NONE` is never listed)."""
    return [f.name for f in type(flags) if f.value and f in flags and f.name is not None]


class PendingStatus(enum.StrEnum):
    pending = "pending"
    posted = "posted"
    voided = "voided"
    expired = "expired"


class TransferResult(enum.StrEnum):
    """Per-transfer outcome of a batch, in the style of TigerBeetle's CreateTransferResult."""

    ok = "ok"
    linked_event_failed = "linked_event_failed"
    linked_event_chain_open = "linked_event_chain_open"
    id_must_not_be_empty = "id_must_not_be_empty"
    id_is_invalid = "id_is_invalid"
    flags_are_mutually_exclusive = "flags_are_mutually_exclusive"
    debit_account_id_must_not_be_empty = "debit_account_id_must_not_be_empty"
    credit_account_id_must_not_be_empty = "credit_account_id_must_not_be_empty"
    accounts_must_be_different = "accounts_must_be_different"
    pending_id_must_be_empty = "pending_id_must_be_empty"
    pending_id_must_not_be_empty = "pending_id_must_not_be_empty"
    pending_id_must_be_different = "pending_id_must_be_different"
    timeout_reserved_for_pending_transfer = "timeout_reserved_for_pending_transfer"
    amount_must_not_be_zero = "amount_must_not_be_zero"
    amount_must_not_be_negative = "amount_must_not_be_negative"
    ledger_must_not_be_empty = "ledger_must_not_be_empty"
    code_must_not_be_empty = "code_must_not_be_empty"
    user_data_too_long = "user_data_too_long"
    exists_with_different_flags = "exists_with_different_flags"
    exists_with_different_pending_id = "exists_with_different_pending_id"
    exists_with_different_timeout = "exists_with_different_timeout"
    exists_with_different_debit_account_id = "exists_with_different_debit_account_id"
    exists_with_different_credit_account_id = "exists_with_different_credit_account_id"
    exists_with_different_amount = "exists_with_different_amount"
    exists_with_different_user_data = "exists_with_different_user_data"
    exists_with_different_ledger = "exists_with_different_ledger"
    exists_with_different_code = "exists_with_different_code"
    exists = "exists"
    debit_account_not_found = "debit_account_not_found"
    credit_account_not_found = "credit_account_not_found"
    accounts_must_have_the_same_ledger = "accounts_must_have_the_same_ledger"
    transfer_must_have_the_same_ledger_as_accounts = "transfer_must_have_the_same_ledger_as_accounts"
    pending_transfer_not_found = "pending_transfer_not_found"
    pending_transfer_not_pending = "pending_transfer_not_pending"
    pending_transfer_has_different_debit_account_id = "pending_transfer_has_different_debit_account_id"
    pending_transfer_has_different_credit_account_id = "pending_transfer_has_different_credit_account_id"
    pending_transfer_has_different_ledger = "pending_transfer_has_different_ledger"
    pending_transfer_has_different_code = "pending_transfer_has_different_code"
    exceeds_pending_transfer_amount = "exceeds_pending_transfer_amount"
    pending_transfer_has_different_amount = "pending_transfer_has_different_amount"
    pending_transfer_already_posted = "pending_transfer_already_posted"
    pending_transfer_already_voided = "pending_transfer_already_voided"
    pending_transfer_expired = "pending_transfer_expired"
    overflows_debits_pending = "overflows_debits_pending"
    overflows_credits_pending = "overflows_credits_pending"
    overflows_debits_posted = "overflows_debits_posted"
    overflows_credits_posted = "overflows_credits_posted"
    overflows_timeout = "overflows_timeout"
    debit_account_already_closed = "debit_account_already_closed"
    credit_account_already_closed = "credit_account_already_closed"
    exceeds_credits = "exceeds_credits"
    exceeds_debits = "exceeds_debits"

    @property
    def succeeded(self) -> bool:
        """`ok` and `exists` both mean the transfer is in the ledger exactly as asked."""
        return self in (TransferResult.ok, TransferResult.exists)


class AccountResult(enum.StrEnum):
    ok = "ok"
    exists = "exists"
    exists_with_different_ledger = "exists_with_different_ledger"
    exists_with_different_code = "exists_with_different_code"
    exists_with_different_owner_id = "exists_with_different_owner_id"
    exists_with_different_flags = "exists_with_different_flags"


@dataclass(frozen=True, slots=True)
class Balances:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0


@dataclass(frozen=True, slots=True)
class Account:
    """A ledger account (账户). Balances are minor units; `flags` hold the balance rules."""

    id: str
    ledger: str
    code: str
    owner_id: str | None = None
    flags: AccountFlags = AccountFlags.NONE
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    @property
    def closed(self) -> bool:
        return AccountFlags.closed in self.flags

    @property
    def balances(self) -> Balances:
        return Balances(self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted)

    def with_balances(self, b: Balances) -> Account:
        return replace(
            self,
            debits_pending=b.debits_pending,
            debits_posted=b.debits_posted,
            credits_pending=b.credits_pending,
            credits_posted=b.credits_posted,
        )

    def moved(
        self, debits_pending: int = 0, debits_posted: int = 0, credits_pending: int = 0, credits_posted: int = 0
    ) -> Account:
        """This account with its balances moved by the given amounts (a new value)."""
        return Account(
            self.id,
            self.ledger,
            self.code,
            self.owner_id,
            self.flags,
            self.debits_pending + debits_pending,
            self.debits_posted + debits_posted,
            self.credits_pending + credits_pending,
            self.credits_posted + credits_posted,
        )

    def violates_flags(self) -> bool:
        """True when the balance rules of the account's flags are broken (an overdraft)."""
        if AccountFlags.debits_must_not_exceed_credits in self.flags:
            if self.debits_pending + self.debits_posted > self.credits_posted:
                return True
        if AccountFlags.credits_must_not_exceed_debits in self.flags:
            if self.credits_pending + self.credits_posted > self.debits_posted:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Transfer:
    """A request to move `amount` from the debit account to the credit account (转账).

    For `post_pending` / `void_pending`, the accounts, ledger and code may be left empty and
    come from the pending transfer; `amount=None` posts the full pending amount.
    """

    id: str
    debit_account_id: str = ""
    credit_account_id: str = ""
    amount: int | None = None
    ledger: str = ""
    code: str = ""
    flags: TransferFlags = TransferFlags.NONE
    pending_id: str | None = None
    timeout_seconds: int = 0
    user_data: str | None = None


@dataclass(frozen=True, slots=True)
class StoredTransfer:
    """A transfer as recorded: accounts, ledger and amount resolved; timestamps in UTC µs."""

    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    ledger: str
    code: str
    flags: TransferFlags
    pending_id: str | None
    timeout_seconds: int
    user_data: str | None
    timestamp: int
    status: PendingStatus | None = None
    expires_at: int | None = None
    resolved_at: int | None = None
    seq: int | None = None


def check_id(value: str) -> bool:
    return 0 < len(value) <= ID_MAX_LENGTH and ID_PATTERN.match(value) is not None
