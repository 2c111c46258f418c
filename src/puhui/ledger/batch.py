"""Applying a batch of transfers to locked accounts: pure rules, no I/O.

The service loads and locks every account a batch touches, the transfers that already exist with
the batch's ids and the pending transfers it references, then hands them here. `apply_batch`
decides each transfer's result in order, keeping linked chains all-or-nothing, and returns the
rows to write. Nothing here reads the clock or the database, so it is the same on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from puhui.ledger.models import (
    AMOUNT_MAX,
    TIMEOUT_MAX,
    USER_DATA_MAX_LENGTH,
    Account,
    AccountFlags,
    PendingStatus,
    StoredTransfer,
    Transfer,
    TransferFlags,
    TransferResult,
    check_id,
)

R = TransferResult
F = TransferFlags
TWO_PHASE = F.pending | F.post_pending | F.void_pending
# Plain ints: IntFlag membership tests cost more than the rest of a transfer's rules.
_LINKED, _PENDING, _POST = int(F.linked), int(F.pending), int(F.post_pending)
_DEBITS_LIMITED = int(AccountFlags.debits_must_not_exceed_credits)
_CREDITS_LIMITED = int(AccountFlags.credits_must_not_exceed_debits)


@dataclass
class BatchOutcome:
    results: list[TransferResult]
    created: list[StoredTransfer]
    # pending id -> (new status, resolved_at) for pending transfers stored before this batch
    resolved: dict[str, tuple[PendingStatus, int]]
    accounts: dict[str, Account]  # the final state of every account whose balances changed
    expired: list[StoredTransfer] = field(default_factory=list)


class _Batch:
    """Working state for one batch, with an undo log so a linked chain can be rolled back."""

    def __init__(
        self,
        accounts: dict[str, Account],
        stored: dict[str, StoredTransfer],
        now: int,
    ) -> None:
        self.accounts = dict(accounts)
        self.transfers = dict(stored)  # by id: stored before the batch, then created in it
        self.stored_ids = set(stored)
        self.now = now
        self.created: dict[str, StoredTransfer] = {}
        self.touched: set[str] = set()
        # (id, what it was): an account's earlier state, a transfer's, or None for a transfer new in the chain
        self._undo: list[tuple[str, Account | StoredTransfer | None]] = []

    # -- state changes, each logged for undo ---------------------------------------------------
    def set_account(self, account: Account) -> None:
        self._undo.append((account.id, self.accounts[account.id]))
        self.accounts[account.id] = account
        self.touched.add(account.id)

    def set_transfer(self, transfer: StoredTransfer) -> None:
        self._undo.append((transfer.id, self.transfers.get(transfer.id)))
        self.transfers[transfer.id] = transfer

    def begin_chain(self) -> int:
        return len(self._undo)

    def rollback_chain(self, mark: int) -> None:
        while len(self._undo) > mark:
            key, old = self._undo.pop()
            if isinstance(old, Account):
                self.accounts[key] = old
            elif old is None:
                del self.transfers[key]
            else:
                self.transfers[key] = old

    def commit_chain(self) -> None:
        self._undo.clear()


def expire_overdue(pending: StoredTransfer, accounts: dict[str, Account], now: int) -> bool:
    """Release an overdue pending hold in `accounts`; True if it was overdue."""
    if pending.status != PendingStatus.pending or pending.expires_at is None or pending.expires_at > now:
        return False
    if pending.debit_account_id not in accounts or pending.credit_account_id not in accounts:
        return False  # not locked by this batch: the expiry sweep will release it
    debit, credit = accounts[pending.debit_account_id], accounts[pending.credit_account_id]
    accounts[debit.id] = debit.moved(debits_pending=-pending.amount)
    accounts[credit.id] = credit.moved(credits_pending=-pending.amount)
    return True


def apply_batch(
    transfers: list[Transfer],
    accounts: dict[str, Account],
    stored: dict[str, StoredTransfer],
    now: int,
) -> BatchOutcome:
    """Decide every transfer of a batch in order.

    `accounts` must hold every account the batch names (missing ones are "not found");
    `stored` the transfers already in the ledger with ids the batch uses as ids or pending ids.
    """
    accounts = dict(accounts)
    current = dict(stored)
    expired: list[StoredTransfer] = []
    for transfer in stored.values():
        if expire_overdue(transfer, accounts, now):
            current[transfer.id] = replace(transfer, status=PendingStatus.expired, resolved_at=now)
            expired.append(current[transfer.id])
    batch = _Batch(accounts, current, now)
    batch.touched.update(a for t in expired for a in (t.debit_account_id, t.credit_account_id))

    results: list[TransferResult] = [R.ok] * len(transfers)
    start = 0
    while start < len(transfers):
        end = start
        while end < len(transfers) and transfers[end].flags & _LINKED:
            end += 1
        if end == len(transfers):  # the last transfer still says "linked": the chain never closes
            results[start:] = [R.linked_event_failed] * (len(transfers) - start)
            results[-1] = R.linked_event_chain_open
            break
        mark = batch.begin_chain()
        for index in range(start, end + 1):
            result = _apply_one(batch, transfers[index])
            results[index] = result
            if not result.succeeded:
                batch.rollback_chain(mark)
                for other in range(start, end + 1):
                    if other != index:
                        results[other] = R.linked_event_failed
                break
        batch.commit_chain()
        start = end + 1

    created = [t for i, t in batch.transfers.items() if i not in batch.stored_ids]
    resolved: dict[str, tuple[PendingStatus, int]] = {}
    for i in batch.stored_ids:
        now_row = batch.transfers[i]
        if now_row.status != stored[i].status:
            assert now_row.status is not None and now_row.resolved_at is not None
            resolved[i] = (now_row.status, now_row.resolved_at)
    changed = {i: batch.accounts[i] for i in batch.touched}
    return BatchOutcome(results, created, resolved, changed, expired)


def _apply_one(batch: _Batch, t: Transfer) -> TransferResult:
    if not t.id:
        return R.id_must_not_be_empty
    if not check_id(t.id):
        return R.id_is_invalid
    two_phase = t.flags & TWO_PHASE
    if two_phase and two_phase not in (F.pending, F.post_pending, F.void_pending):
        return R.flags_are_mutually_exclusive
    if t.user_data is not None and len(t.user_data) > USER_DATA_MAX_LENGTH:
        return R.user_data_too_long
    existing = batch.transfers.get(t.id)
    if existing is not None:
        return _compare_existing(t, existing)
    if t.flags & (F.post_pending | F.void_pending):
        return _settle_pending(batch, t)
    return _move(batch, t)


def _compare_existing(t: Transfer, e: StoredTransfer) -> TransferResult:
    settles = bool(t.flags & (F.post_pending | F.void_pending))
    if t.flags != e.flags:
        return R.exists_with_different_flags
    if (t.pending_id or None) != e.pending_id:
        return R.exists_with_different_pending_id
    if t.timeout_seconds != e.timeout_seconds:
        return R.exists_with_different_timeout
    if (t.debit_account_id or not settles) and t.debit_account_id != e.debit_account_id:
        return R.exists_with_different_debit_account_id
    if (t.credit_account_id or not settles) and t.credit_account_id != e.credit_account_id:
        return R.exists_with_different_credit_account_id
    if (t.amount is not None or not settles) and t.amount != e.amount:
        return R.exists_with_different_amount
    if t.user_data != e.user_data:
        return R.exists_with_different_user_data
    if (t.ledger or not settles) and t.ledger != e.ledger:
        return R.exists_with_different_ledger
    if (t.code or not settles) and t.code != e.code:
        return R.exists_with_different_code
    return R.exists


def _move(batch: _Batch, t: Transfer) -> TransferResult:
    """A posted transfer, or a pending one that reserves the amount."""
    pending = bool(t.flags & _PENDING)
    if t.pending_id:
        return R.pending_id_must_be_empty
    if not t.debit_account_id:
        return R.debit_account_id_must_not_be_empty
    if not t.credit_account_id:
        return R.credit_account_id_must_not_be_empty
    if t.debit_account_id == t.credit_account_id:
        return R.accounts_must_be_different
    if t.timeout_seconds and not pending:
        return R.timeout_reserved_for_pending_transfer
    if not t.amount:
        return R.amount_must_not_be_zero
    if t.amount < 0:
        return R.amount_must_not_be_negative
    if t.amount > AMOUNT_MAX:
        return R.overflows_debits_pending if t.flags & _PENDING else R.overflows_debits_posted
    if not t.ledger:
        return R.ledger_must_not_be_empty
    if not t.code:
        return R.code_must_not_be_empty
    debit = batch.accounts.get(t.debit_account_id)
    if debit is None:
        return R.debit_account_not_found
    credit = batch.accounts.get(t.credit_account_id)
    if credit is None:
        return R.credit_account_not_found
    if debit.ledger != credit.ledger:
        return R.accounts_must_have_the_same_ledger
    if t.ledger != debit.ledger:
        return R.transfer_must_have_the_same_ledger_as_accounts
    if t.timeout_seconds < 0 or t.timeout_seconds > TIMEOUT_MAX:
        return R.overflows_timeout
    if debit.closed:
        return R.debit_account_already_closed
    if credit.closed:
        return R.credit_account_already_closed

    amount = t.amount
    if pending:
        new_debit = debit.moved(debits_pending=amount)
        new_credit = credit.moved(credits_pending=amount)
        if new_debit.debits_pending > AMOUNT_MAX:
            return R.overflows_debits_pending
        if new_credit.credits_pending > AMOUNT_MAX:
            return R.overflows_credits_pending
    else:
        new_debit = debit.moved(debits_posted=amount)
        new_credit = credit.moved(credits_posted=amount)
        if new_debit.debits_posted > AMOUNT_MAX:
            return R.overflows_debits_posted
        if new_credit.credits_posted > AMOUNT_MAX:
            return R.overflows_credits_posted
    failure = _balance_rule_failure(new_debit, new_credit)
    if failure:
        return failure

    batch.set_account(new_debit)
    batch.set_account(new_credit)
    batch.set_transfer(
        StoredTransfer(
            id=t.id,
            debit_account_id=t.debit_account_id,
            credit_account_id=t.credit_account_id,
            amount=amount,
            ledger=t.ledger,
            code=t.code,
            flags=t.flags,
            pending_id=None,
            timeout_seconds=t.timeout_seconds,
            user_data=t.user_data,
            timestamp=batch.now,
            status=PendingStatus.pending if pending else None,
            expires_at=batch.now + t.timeout_seconds * 1_000_000 if pending and t.timeout_seconds else None,
        )
    )
    return R.ok


def _settle_pending(batch: _Batch, t: Transfer) -> TransferResult:
    """`post_pending` (all or part of the hold) or `void_pending` (release it)."""
    post = bool(t.flags & _POST)
    if not t.pending_id:
        return R.pending_id_must_not_be_empty
    if t.pending_id == t.id:
        return R.pending_id_must_be_different
    if t.timeout_seconds:
        return R.timeout_reserved_for_pending_transfer
    p = batch.transfers.get(t.pending_id)
    if p is None:
        return R.pending_transfer_not_found
    if not p.flags & _PENDING:
        return R.pending_transfer_not_pending
    if t.debit_account_id and t.debit_account_id != p.debit_account_id:
        return R.pending_transfer_has_different_debit_account_id
    if t.credit_account_id and t.credit_account_id != p.credit_account_id:
        return R.pending_transfer_has_different_credit_account_id
    if t.ledger and t.ledger != p.ledger:
        return R.pending_transfer_has_different_ledger
    if t.code and t.code != p.code:
        return R.pending_transfer_has_different_code
    amount = p.amount if t.amount is None else t.amount
    if post and amount == 0:
        return R.amount_must_not_be_zero
    if amount < 0:
        return R.amount_must_not_be_negative
    if post and amount > p.amount:
        return R.exceeds_pending_transfer_amount
    if not post and amount != p.amount:
        return R.pending_transfer_has_different_amount
    if p.status == PendingStatus.posted:
        return R.pending_transfer_already_posted
    if p.status == PendingStatus.voided:
        return R.pending_transfer_already_voided
    if p.status == PendingStatus.expired or (p.expires_at is not None and p.expires_at <= batch.now):
        return R.pending_transfer_expired
    debit = batch.accounts.get(p.debit_account_id)
    credit = batch.accounts.get(p.credit_account_id)
    if debit is None:
        return R.debit_account_not_found
    if credit is None:
        return R.credit_account_not_found
    if post and debit.closed:
        return R.debit_account_already_closed
    if post and credit.closed:
        return R.credit_account_already_closed

    posted = amount if post else 0
    new_debit = debit.moved(debits_pending=-p.amount, debits_posted=posted)
    new_credit = credit.moved(credits_pending=-p.amount, credits_posted=posted)
    if new_debit.debits_posted > AMOUNT_MAX:
        return R.overflows_debits_posted
    if new_credit.credits_posted > AMOUNT_MAX:
        return R.overflows_credits_posted
    failure = _balance_rule_failure(new_debit, new_credit)
    if failure:
        return failure

    batch.set_account(new_debit)
    batch.set_account(new_credit)
    batch.set_transfer(replace(p, status=PendingStatus.posted if post else PendingStatus.voided, resolved_at=batch.now))
    batch.set_transfer(
        StoredTransfer(
            id=t.id,
            debit_account_id=p.debit_account_id,
            credit_account_id=p.credit_account_id,
            amount=amount,
            ledger=p.ledger,
            code=t.code or p.code,
            flags=t.flags,
            pending_id=p.id,
            timeout_seconds=0,
            user_data=t.user_data,
            timestamp=batch.now,
        )
    )
    return R.ok


def _balance_rule_failure(debit: Account, credit: Account) -> TransferResult | None:
    if debit.flags & _DEBITS_LIMITED:
        if debit.debits_pending + debit.debits_posted > debit.credits_posted:
            return R.exceeds_credits
    if credit.flags & _CREDITS_LIMITED:
        if credit.credits_pending + credit.credits_posted > credit.debits_posted:
            return R.exceeds_debits
    return None
