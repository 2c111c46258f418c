"""What other packages may ask of the ledger's books (its tables are private to `puhui.ledger`).

Balances are read as the ledger keeps them: for a credit-normal account (a wallet, a holding of fund
units) the **available** balance is credits posted − debits posted − debits pending (可用余额); for a
debit-normal one (a receivable, the bank reserve) the **net debit** is debits posted − credits posted.
Writes go through `ledger.service` (transfers, one at a time or in batches) and `ledger.bulk`
(set-based end-of-day postings); nothing here changes a balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Select, func, select

from puhui.db import UnitOfWork
from puhui.db.prepared import run_sql, run_sql_all
from puhui.ledger.models import TransferFlags
from puhui.ledger.tables import accounts, ledgers, transfers

AVAILABLE = accounts.c.credits_posted - accounts.c.debits_posted - accounts.c.debits_pending
NET_DEBIT = accounts.c.debits_posted - accounts.c.credits_posted


def available(connection: Connection, account_id: str) -> int | None:
    """The account's available balance (可用余额), or None when there is no such account."""
    found = connection.execute(select(AVAILABLE).where(accounts.c.id == account_id)).first()
    return int(found[0]) if found is not None else None


def lock_account(uow: UnitOfWork, account_id: str) -> bool:
    """Hold the account's row lock to the end of the unit of work (PostgreSQL; SQLite has one
    writer): whoever must read-check-then-move on it waits here. False when it does not exist."""
    query = select(accounts.c.id).where(accounts.c.id == account_id)
    return uow.execute(query.with_for_update() if uow.postgres else query).first() is not None


def lock_accounts(
    uow: UnitOfWork,
    account_ids: Iterable[str],
    also: tuple[str, Sequence[Any]] | None = None,
    along: Sequence[tuple[str, Sequence[Any]]] = (),
) -> list[list[Any]]:
    """Hold the row locks of these accounts to the end of the unit of work, taken in id order in one
    statement (the order every ledger batch locks in), so whoever locks several never deadlocks with
    a ledger batch or another caller of this (PostgreSQL; SQLite has one writer). `also`: driver SQL (and
    its values) selecting more account ids, locked in the same statement (a round trip fewer). `along`:
    the caller's own driver SQL reads, sent after it in the same round trip; their rows are returned."""
    wanted = sorted(set(account_ids))
    if not uow.postgres or not (wanted or also):
        return [[] for _ in along]
    if also is None:  # driver SQL with one array: every group-commit batch runs it
        lock: tuple[str, Sequence[Any]] = (
            "SELECT id FROM accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            (wanted,),
        )
    else:
        more, values = also
        lock = (
            f"SELECT id FROM accounts WHERE id = ANY(%s::varchar[] || ARRAY({more})::varchar[]) ORDER BY id FOR UPDATE",
            (wanted, *values),
        )
    if not along:
        run_sql(uow.connection, *lock)
        return []
    return [rows for rows, _ in run_sql_all(uow.connection, [lock, *along])[1:]]


def ledger_exists(connection: Connection, code: str) -> bool:
    return connection.execute(select(ledgers.c.code).where(ledgers.c.code == code)).first() is not None


def net_debit(
    connection: Connection,
    *,
    codes: Iterable[str],
    ledger: str | None = None,
    owners: Iterable[str] | Select[str] | None = None,
) -> int:
    """Σ (debits posted − credits posted) over the accounts of these codes (and ledger, and owners)."""
    query = select(func.coalesce(func.sum(NET_DEBIT), 0)).where(accounts.c.code.in_(list(codes)))
    if ledger is not None:
        query = query.where(accounts.c.ledger == ledger)
    if owners is not None:  # a list of owner ids, or a SELECT of them
        query = query.where(accounts.c.owner_id.in_(owners if isinstance(owners, Select) else list(owners)))
    return int(connection.execute(query).scalar_one())


def net_credit(
    connection: Connection,
    *,
    codes: Iterable[str],
    ledger: str | None = None,
    owners: Iterable[str] | Select[str] | None = None,
) -> int:
    """Σ (credits posted − debits posted): what credit-normal accounts of these codes hold."""
    return -net_debit(connection, codes=codes, ledger=ledger, owners=owners)


def owner_balances(connection: Connection, owner_id: str) -> dict[str, tuple[int, int]]:
    """(debits posted, credits posted) of each account the owner has, by account id."""
    rows = connection.execute(
        select(accounts.c.id, accounts.c.debits_posted, accounts.c.credits_posted).where(
            accounts.c.owner_id == owner_id
        )
    )
    return {r.id: (int(r.debits_posted), int(r.credits_posted)) for r in rows}


def totals_by_code(connection: Connection) -> dict[str, tuple[int, int]]:
    """(debits posted, credits posted) summed per account code, over every ledger."""
    rows = connection.execute(
        select(accounts.c.code, func.sum(accounts.c.debits_posted), func.sum(accounts.c.credits_posted)).group_by(
            accounts.c.code
        )
    )
    return {code: (int(d or 0), int(c or 0)) for code, d, c in rows}


def credits_received(connection: Connection, account_id: str, code: str) -> tuple[int, tuple[int, str | None] | None]:
    """What the account was credited by transfers of `code`: (total, (last amount, its user data) or None)."""
    into = (transfers.c.credit_account_id == account_id, transfers.c.code == code)
    total = connection.execute(select(func.coalesce(func.sum(transfers.c.amount), 0)).where(*into)).scalar_one()
    last = connection.execute(
        select(transfers.c.amount, transfers.c.user_data).where(*into).order_by(transfers.c.seq.desc()).limit(1)
    ).first()
    return int(total), ((int(last[0]), last[1]) if last is not None else None)


def credits_posted_between(
    connection: Connection, account_id: str, codes: Iterable[str], since_micros: int, until_micros: int
) -> int:
    """What single-phase transfers of `codes` credited to the account in [since, until) (holds and their
    resolutions are left out: they are the two-phase orders' own)."""
    two_phase = int(TransferFlags.pending | TransferFlags.post_pending | TransferFlags.void_pending)
    total = connection.execute(
        select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
            transfers.c.credit_account_id == account_id,
            transfers.c.code.in_(sorted(codes)),
            transfers.c.timestamp >= since_micros,
            transfers.c.timestamp < until_micros,
            transfers.c.flags.op("&")(two_phase) == 0,
        )
    ).scalar_one()
    return int(total)


def balance_sql(account_id_sql: str, *, debit_normal: bool) -> str:
    """A correlated SQL subquery for set-based end-of-day statements: the balance of the account whose
    id the SQL expression `account_id_sql` names (net debit, or net credit when not `debit_normal`)."""
    sign = "a.debits_posted - a.credits_posted" if debit_normal else "a.credits_posted - a.debits_posted"
    return f"(SELECT {sign} FROM accounts a WHERE a.id = {account_id_sql})"
