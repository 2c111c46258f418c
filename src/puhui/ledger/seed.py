"""Bulk loads for fixtures and benchmarks: opening balances (期初余额) and scratch copies of the ledger.

`load_opening_balances` opens many accounts and posts their opening transfers in a handful of
set-based statements, whatever the count (a million fund holders in seconds):

1. the accounts are written straight in (COPY on PostgreSQL, DBAPI executemany on SQLite), with
   zero balances;
2. the transfers are staged in a temporary table the same way, checked against the ledger's rules
   in one query (both accounts exist, on the transfer's ledger, neither closed, amount positive,
   debit and credit differ), then written with one `INSERT … SELECT`;
3. every balance is derived from the staged transfers — one grouped `UPDATE … FROM` per side —
   and no account with a balance flag may end up overdrawn.

Ids already used (accounts or transfers), unknown ledgers or account codes and any broken rule
raise `OpeningLoadRefused`; the caller's transaction must then roll back, and nothing is loaded.
So the ledger's invariants — and `puhui audit` — hold exactly as if every transfer had gone through
`create_transfers`. No events are published: a load is set-up, not business.

Rules are checked on the final balances, not transfer by transfer: an opening load is one fact.
Rows are streamed (any iterable, e.g. a generator), so a million rows need not be held in memory;
or a `SelectRows` makes them in the database (e.g. from a recursive series), so none crosses the driver.

`create_scratch_copy` makes copies of `accounts` and `transfers` under new names (same columns,
keys, indexes and rows) for benchmarks that time what plain SQL costs against the ledger's own
tables without touching them; `drop_scratch_copy` removes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, MetaData, Table, quoted_name, text
from sqlalchemy.exc import IntegrityError

from puhui import clock
from puhui.errors import InvalidInput
from puhui.ledger import tables
from puhui.ledger.errors import OpeningLoadRefused
from puhui.ledger.models import AccountFlags

STAGE = "ledger_seed_stage"
SAMPLE = 5

_CLOSED = int(AccountFlags.closed)
_DEBITS_LIMITED = int(AccountFlags.debits_must_not_exceed_credits)
_CREDITS_LIMITED = int(AccountFlags.credits_must_not_exceed_debits)

_ACCOUNT_COLUMNS = ("id", "ledger", "code", "owner_id", "flags", "created_at")
_STAGE_COLUMNS = ("id", "debit", "credit", "amount", "ledger", "code")

CREATE_STAGE = f"""CREATE TEMPORARY TABLE {STAGE} (
    id VARCHAR(64) NOT NULL, debit VARCHAR(64) NOT NULL, credit VARCHAR(64) NOT NULL,
    amount BIGINT NOT NULL, ledger VARCHAR(16) NOT NULL, code VARCHAR(48) NOT NULL)"""
DROP_STAGE = f"DROP TABLE IF EXISTS {STAGE}"
_JOINED = f"{STAGE} p LEFT JOIN accounts d ON d.id = p.debit LEFT JOIN accounts c ON c.id = p.credit"
_BROKEN = f"""d.id IS NULL OR c.id IS NULL OR d.ledger <> p.ledger OR c.ledger <> p.ledger
    OR (d.flags & {_CLOSED}) <> 0 OR (c.flags & {_CLOSED}) <> 0 OR p.amount <= 0 OR p.debit = p.credit"""
_LIMITED = f"(d.flags & {_DEBITS_LIMITED}) <> 0 OR (c.flags & {_CREDITS_LIMITED}) <> 0"
# One pass over the staged transfers: how many, their total, how many break a rule, how many move
# a balance bound by a flag (only then are the final balances checked).
CHECK = f"""
    SELECT count(*), coalesce(sum(p.amount), 0), coalesce(sum(CASE WHEN {_BROKEN} THEN 1 ELSE 0 END), 0),
           coalesce(sum(CASE WHEN {_LIMITED} THEN 1 ELSE 0 END), 0)
    FROM {_JOINED}
"""
BROKEN = f"SELECT p.id, p.debit, p.credit, p.amount, p.ledger FROM {_JOINED} WHERE {_BROKEN} LIMIT {SAMPLE}"
WRITE = f"""
    INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id,
                           timeout_seconds, user_data, timestamp, status, expires_at, resolved_at)
    SELECT id, debit, credit, amount, ledger, code, 0, NULL, 0, NULL, :now, NULL, NULL, NULL FROM {STAGE}
"""
DEBITS = f"""
    UPDATE accounts SET debits_posted = accounts.debits_posted + s.amount
    FROM (SELECT debit AS id, sum(amount) AS amount FROM {STAGE} GROUP BY debit) s WHERE accounts.id = s.id
"""
CREDITS = f"""
    UPDATE accounts SET credits_posted = accounts.credits_posted + s.amount
    FROM (SELECT credit AS id, sum(amount) AS amount FROM {STAGE} GROUP BY credit) s WHERE accounts.id = s.id
"""
OVERDRAWN = f"""
    SELECT a.id, a.flags, a.debits_posted, a.credits_posted FROM accounts a
    WHERE (a.flags & {_DEBITS_LIMITED}) <> 0 AND a.debits_pending + a.debits_posted > a.credits_posted
      AND a.id IN (SELECT debit FROM {STAGE})
    UNION ALL
    SELECT a.id, a.flags, a.debits_posted, a.credits_posted FROM accounts a
    WHERE (a.flags & {_CREDITS_LIMITED}) <> 0 AND a.credits_pending + a.credits_posted > a.debits_posted
      AND a.id IN (SELECT credit FROM {STAGE})
    LIMIT {SAMPLE}
"""


class OpeningAccount(NamedTuple):
    """An account to open (开户) with the load; its balances come from the opening transfers."""

    id: str
    ledger: str
    code: str
    owner_id: str | None = None
    flags: int = 0


class OpeningTransfer(NamedTuple):
    """A posted opening transfer (期初余额): `amount` minor units from `debit_account_id` to
    `credit_account_id`, both on `ledger`."""

    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    ledger: str
    code: str


@dataclass(frozen=True)
class SelectRows:
    """Rows a SELECT makes in the database, columns in the order of `OpeningAccount` or
    `OpeningTransfer` — e.g. from a recursive series — so that a million rows need not cross the
    driver. The SELECT must not read the ledger's tables."""

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)


Rows = Iterable[tuple[Any, ...]] | SelectRows


@dataclass(frozen=True)
class OpeningLoad:
    """What a load wrote: accounts opened, transfers posted and their total (minor units)."""

    accounts: int
    transfers: int
    amount: int


def load_opening_balances(
    connection: Connection,
    accounts: Iterable[OpeningAccount] | SelectRows,
    transfers: Iterable[OpeningTransfer] | SelectRows,
) -> OpeningLoad:
    """Open `accounts` and post `transfers` (opening balances) in bulk, inside the caller's
    transaction. Raises `OpeningLoadRefused` when a row breaks a ledger rule; the caller then rolls
    back. Accounts may be existing ones (e.g. a funding account) or ones opened by this load."""
    now = clock.now_micros()
    # Rows written through the driver raise the driver's own error, not SQLAlchemy's.
    refusals: tuple[type[Exception], ...] = (IntegrityError, connection.dialect.loaded_dbapi.IntegrityError)
    try:
        opened = _write_rows(connection, "accounts", _ACCOUNT_COLUMNS, _opened_at(accounts, now))
        connection.exec_driver_sql(DROP_STAGE)
        connection.exec_driver_sql(CREATE_STAGE)
        _write_rows(connection, STAGE, _STAGE_COLUMNS, transfers)
        count, amount = _post_staged(connection, now)
    except refusals as error:
        raise OpeningLoadRefused(f"an id is already used, or a ledger or account code is unknown: {error}") from error
    # On failure the caller's rollback takes the stage away with everything else (DDL is transactional).
    connection.exec_driver_sql(DROP_STAGE)
    return OpeningLoad(accounts=opened, transfers=count, amount=amount)


def _opened_at(accounts: Iterable[OpeningAccount] | SelectRows, now: int) -> Rows:
    """The accounts' rows with their opening time (`created_at`) last."""
    if isinstance(accounts, SelectRows):
        sql = f"SELECT r.*, CAST({int(now)} AS BIGINT) FROM ({accounts.sql}) AS r"
        return SelectRows(sql, accounts.params)
    return ((*a, now) for a in accounts)


def _post_staged(connection: Connection, now: int) -> tuple[int, int]:
    """Check the staged transfers, write them and derive the balances they move."""
    count, amount, broken, limited = connection.execute(text(CHECK)).one()
    if broken:
        bad = connection.execute(text(BROKEN)).all()
        raise OpeningLoadRefused(f"{broken} opening transfers break ledger rules, e.g. {[tuple(r) for r in bad]}")
    if not count:
        return 0, 0
    connection.execute(text(WRITE), {"now": now})
    connection.execute(text(DEBITS))
    connection.execute(text(CREDITS))
    overdrawn = connection.execute(text(OVERDRAWN)).all() if limited else []
    if overdrawn:
        raise OpeningLoadRefused(f"opening transfers overdraw flagged accounts: {[tuple(r) for r in overdrawn]}")
    return int(count), int(amount)


def _write_rows(connection: Connection, table: str, columns: tuple[str, ...], rows: Rows) -> int:
    """Rows straight in, streamed: `INSERT … SELECT` for a SELECT, else COPY on PostgreSQL and DBAPI
    executemany on SQLite. Returns how many."""
    names = ", ".join(columns)
    if isinstance(rows, SelectRows):
        return int(connection.execute(text(f"INSERT INTO {table} ({names}) {rows.sql}"), dict(rows.params)).rowcount)
    counted = _Counter(rows)
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in counted:
                copy.write_row(row)
        return counted.count
    cursor = driver.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", counted)
    finally:
        cursor.close()
    return counted.count


class _Counter:
    """Counts the rows of an iterable as they stream past."""

    def __init__(self, rows: Iterable[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for row in self.rows:
            self.count += 1
            yield row


# -- scratch copies for benchmarks ------------------------------------------------------------------

_PREFIX = re.compile(r"^[a-z][a-z0-9_]*_$")


@dataclass(frozen=True)
class ScratchLedger:
    """Copies of the ledger's `accounts` and `transfers` tables under new names (same columns,
    keys and indexes). Write to them freely: the ledger never reads them."""

    accounts: Table
    transfers: Table


def create_scratch_copy(connection: Connection, prefix: str, *, copy_transfers: bool = True) -> ScratchLedger:
    """Create `<prefix>accounts` and `<prefix>transfers`, shaped as the ledger's tables, holding a
    copy of their rows now (the transfers' only when `copy_transfers`). Replaces an earlier copy of
    the same prefix. For benchmarks that time plain SQL against the ledger's own tables."""
    if not _PREFIX.match(prefix):
        raise InvalidInput(f"a scratch prefix is lower-case letters, digits and '_' ending in '_', not {prefix!r}")
    metadata = MetaData()
    for parent in (tables.ledgers, tables.account_codes):  # what the accounts' foreign keys name
        parent.to_metadata(metadata)
    scratch = ScratchLedger(
        accounts=_copy_shape(tables.accounts, metadata, prefix),
        transfers=_copy_shape(tables.transfers, metadata, prefix),
    )
    drop_scratch_copy(connection, scratch)
    metadata.create_all(connection, tables=[scratch.accounts, scratch.transfers])
    _copy_rows(connection, tables.accounts, scratch.accounts)
    if copy_transfers:
        _copy_rows(connection, tables.transfers, scratch.transfers)
    return scratch


def drop_scratch_copy(connection: Connection, scratch: ScratchLedger) -> None:
    """Remove a scratch copy (nothing happens for tables already gone)."""
    for table in (scratch.transfers, scratch.accounts):
        table.drop(connection, checkfirst=True)


def _copy_shape(table: Table, metadata: MetaData, prefix: str) -> Table:
    """`table` as `<prefix><name>`: its indexes and named constraints renamed too (their names
    are one namespace per database)."""
    copy = table.to_metadata(metadata, name=prefix + table.name)
    for index in copy.indexes:
        index.name = quoted_name(prefix + str(index.name), None)
    for constraint in copy.constraints:
        if isinstance(constraint.name, str):
            constraint.name = quoted_name(prefix + constraint.name, None)
    return copy


def _copy_rows(connection: Connection, source: Table, target: Table) -> None:
    """Every row of `source` into `target`, in order; generated keys (`seq`) are generated anew."""
    columns = [c for c in source.columns if c.identity is None]
    order = [c for c in source.primary_key.columns]
    connection.execute(
        target.insert().from_select(
            [c.name for c in columns], source.select().with_only_columns(*columns).order_by(*order)
        )
    )
