"""What other packages may ask of the ledger's books (its tables are private to `puhui.ledger`).

Balances are read as the ledger keeps them: for a credit-normal account (a wallet, a holding of fund
units) the **available** balance is credits posted − debits posted − debits pending (可用余额); for a
debit-normal one (a receivable, the bank reserve) the **net debit** is debits posted − credits posted.
Balances as they stood at a past moment (`balances_as_of`, `available_as_of`) are summed from the
transfers timestamped by then, so a caller can read a day's close back after the books moved on.
Writes go through `ledger.service` (transfers, one at a time or in batches) and `ledger.bulk`
(set-based end-of-day postings); nothing here changes a balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, case, func, select

from puhui.db import UnitOfWork
from puhui.db.prepared import run_sql, run_sql_all
from puhui.ledger.models import Balances, TransferFlags
from puhui.ledger.tables import accounts, ledgers, transfers

AVAILABLE = accounts.c.credits_posted - accounts.c.debits_posted - accounts.c.debits_pending
NET_DEBIT = accounts.c.debits_posted - accounts.c.credits_posted
AS_OF_CHUNK = 500  # account ids per statement of `balances_as_of`


def available(connection: Connection, account_id: str) -> int | None:
    """The account's available balance (可用余额), or None when there is no such account."""
    found = connection.execute(select(AVAILABLE).where(accounts.c.id == account_id)).first()
    return int(found[0]) if found is not None else None


def balances_as_of(connection: Connection, account_ids: Iterable[str], at_micros: int) -> dict[str, Balances]:
    """Each account's balances as they stood at `at_micros`, inclusive (某时点余额), summed from its transfers
    timestamped by then: posted, the single-phase transfers and the postings of holds; pending, the holds
    made by then and not yet posted, voided or expired at it (their `resolved_at` later, or none). Every id
    asked for is answered; one without transfers by then has zero balances. After the last transfer an
    account's answer is its balances now."""
    wanted = sorted(set(account_ids))
    sums: dict[str, dict[str, int]] = {i: {} for i in wanted}
    for start in range(0, len(wanted), AS_OF_CHUNK):
        chunk = wanted[start : start + AS_OF_CHUNK]
        for side, column in (("debits", transfers.c.debit_account_id), ("credits", transfers.c.credit_account_id)):
            for account_id, posted, held in connection.execute(_sides_as_of(column, chunk, at_micros)):
                sums[account_id] |= {f"{side}_posted": int(posted), f"{side}_pending": int(held)}
    return {i: Balances(**found) for i, found in sums.items()}


def _sides_as_of(column: ColumnElement[str], account_ids: list[str], at_micros: int) -> Select[Any]:
    """Per account on one side of its transfers: posted and pending totals as of `at_micros`."""
    posted = transfers.c.flags.op("&")(int(TransferFlags.pending | TransferFlags.void_pending)) == 0
    held = (transfers.c.flags.op("&")(int(TransferFlags.pending)) != 0) & (
        transfers.c.resolved_at.is_(None) | (transfers.c.resolved_at > at_micros)
    )
    return (
        select(
            column,
            func.coalesce(func.sum(case((posted, transfers.c.amount), else_=0)), 0),
            func.coalesce(func.sum(case((held, transfers.c.amount), else_=0)), 0),
        )
        .where(column.in_(account_ids), transfers.c.timestamp <= at_micros)
        .group_by(column)
    )


def available_as_of(connection: Connection, account_ids: Iterable[str], at_micros: int) -> dict[str, int]:
    """Each account's available balance (可用余额) as it stood at `at_micros`, inclusive: credits posted −
    debits posted − debits pending then, as `available` reads it now (zero for an account without
    transfers by then)."""
    return {
        account_id: b.credits_posted - b.debits_posted - b.debits_pending
        for account_id, b in balances_as_of(connection, account_ids, at_micros).items()
    }


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


@dataclass(frozen=True)
class OwnedAccount:
    """One of an owner's accounts as it stands: its ledger (and that ledger's scale), code and balances."""

    id: str
    ledger: str
    scale: int
    code: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def net_credit(self) -> int:
        """Credits posted − debits posted (negative on a debit-normal account that holds something)."""
        return self.credits_posted - self.debits_posted

    @property
    def pending(self) -> int:
        return self.debits_pending + self.credits_pending


def unsettled_accounts_of(connection: Connection, owner_id: str) -> list[OwnedAccount]:
    """The owner's accounts that are not settled, by id: a posted balance other than zero, or holds
    pending on either side (未结清). An owner with none, or with no accounts at all, gets []."""
    rows = connection.execute(
        select(
            accounts.c.id,
            accounts.c.ledger,
            ledgers.c.scale,
            accounts.c.code,
            accounts.c.debits_posted,
            accounts.c.credits_posted,
            accounts.c.debits_pending,
            accounts.c.credits_pending,
        )
        .join(ledgers, ledgers.c.code == accounts.c.ledger)
        .where(
            accounts.c.owner_id == owner_id,
            (accounts.c.debits_posted != accounts.c.credits_posted)
            | (accounts.c.debits_pending != 0)
            | (accounts.c.credits_pending != 0),
        )
        .order_by(accounts.c.id)
    )
    return [OwnedAccount(*(r[0], r[1]), int(r[2]), r[3], *(int(v) for v in r[4:])) for r in rows]


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
