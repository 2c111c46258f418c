"""Late credits (延后入账): a hot account that many concurrent payments credit gets its credits once per
group-commit batch, not once per payment.

Every QR payment credits the platform's fee income. Locked with the payment's wallets at the start of
each batch, that one row made the batches of every worker process queue behind each other on
PostgreSQL: two workers committed no faster than one. In a group-commit job, `create_transfers` now
reads such an account without locking it; the credits its transfers add are summed by the group
committer over the batch's jobs that succeeded (`UnitOfWork.batch_sums`), and `apply` adds the sum
to the row in one statement, the batch's last before its events are numbered and it commits. The row
is locked from there to COMMIT only. The transfers themselves are written by their job as always, so
the balance still equals the sum of the account's transfers once the batch is committed.

Only for accounts a transfer of the job credits with a plain transfer (no two-phase flags) and none
debits, and whose balance has no limit on the credit side; anywhere else (outside a group commit, a
refund that debits the fee income) the account is locked as every other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy import bindparam, select, update

from puhui.db import UnitOfWork
from puhui.db.prepared import Prepared, Read, run
from puhui.ledger import pg
from puhui.ledger.batch import BatchOutcome
from puhui.ledger.models import Account, AccountFlags, Transfer, TransferFlags
from puhui.ledger.tables import accounts

KEY = "ledger.late_credit"
_TWO_PHASE = TransferFlags.pending | TransferFlags.post_pending | TransferFlags.void_pending
_READ = Prepared(
    select(*(accounts.c[name] for name in pg.ACCOUNT_COLUMNS.split(", "))).where(accounts.c.id == bindparam("id"))
)
_ADD = Prepared(
    update(accounts)
    .where(accounts.c.id == bindparam("account"))
    .values(credits_posted=accounts.c.credits_posted + bindparam("amount"))
)


def eligible(uow: UnitOfWork, batch: Sequence[Transfer], wanted: Iterable[str]) -> set[str]:
    """The accounts of `wanted` this job may credit late (none outside a group-commit job)."""
    if uow.batch_sums is None:
        return set()
    found = set(wanted) & {t.credit_account_id for t in batch}
    for t in batch:
        if t.debit_account_id in found or (t.credit_account_id in found and (t.flags & _TWO_PHASE or t.pending_id)):
            found.discard(t.debit_account_id)
            found.discard(t.credit_account_id)
    return found


def read(uow: UnitOfWork, ids: set[str]) -> dict[str, Account]:
    """The late accounts, not locked, read once a batch (their balances are not what a late credit
    uses); refused if a rule limits their credits."""
    found = {}
    for account_id in sorted(ids):
        key = (KEY, account_id)
        if key not in uow.shared:
            uow.shared[key] = pg.accounts_from_rows(run(uow.connection, _READ, {"id": account_id}).all())
        found.update(uow.shared[key])
    for account in found.values():
        if AccountFlags.credits_must_not_exceed_debits in account.flags:
            raise ValueError(f"account {account.id} limits its credits: it cannot be credited late")
    return found


def reads_ahead(uow: UnitOfWork, ids: Iterable[str]) -> list[Read]:
    """The reads `read` will make of these accounts, for a caller to send ahead; none once the batch has them."""
    return [(_READ, {"id": i}) for i in sorted(set(ids)) if (KEY, i) not in uow.shared]


def keep(uow: UnitOfWork, outcome: BatchOutcome, before: dict[str, Account]) -> None:
    """Take the late accounts out of what the job writes, and count their credits for the batch."""
    for account_id, was in before.items():
        now = outcome.accounts.pop(account_id, None)
        if now is None:
            continue
        assert replace(now.balances, credits_posted=was.credits_posted) == was.balances, "only posted credits"
        assert uow.batch_sums is not None
        key = (KEY, account_id)
        uow.batch_sums[key] = uow.batch_sums.get(key, 0) + now.credits_posted - was.credits_posted
    if apply not in uow.before_batch_commit:
        uow.before_batch_commit.insert(0, apply)  # before the outbox numbering: one lock order for all


def apply(uow: UnitOfWork) -> None:
    """Add the batch's late credits to their accounts, in id order: one statement an account, sent with the
    batch's other last statements (`UnitOfWork.write`)."""
    sums = sorted(
        (key[1], amount)
        for key, amount in (uow.batch_sums or {}).items()
        if isinstance(key, tuple) and key[0] == KEY and amount
    )
    for account_id, amount in sums:
        uow.write(_ADD, {"account": account_id, "amount": amount})
