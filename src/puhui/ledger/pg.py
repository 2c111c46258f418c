"""The ledger's hot path on PostgreSQL: few round trips, arrays instead of row-by-row statements.

A batch costs three round trips besides COMMIT: read the transfers it names, lock its accounts
(pipelined with the read when no hold is referenced), then one pipeline that inserts every
transfer row, updates every balance and writes the outbox event, each as one statement over
arrays (`unnest`). The rules are the same as on SQLite; only the I/O differs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from puhui import clock
from puhui.db.prepared import ByKeys, Prepared, Read, among
from puhui.ledger.models import (
    Account,
    AccountFlags,
    PendingStatus,
    StoredTransfer,
    TransferFlags,
)
from puhui.ledger.tables import accounts as account_table
from puhui.ledger.tables import transfers as transfer_table

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

    PgConnection = psycopg.Connection[TupleRow]

TRANSFER_COLUMNS = (
    "seq, id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, "
    "timeout_seconds, user_data, timestamp, status, expires_at, resolved_at"
)
ACCOUNT_COLUMNS = "id, ledger, code, owner_id, flags, debits_pending, debits_posted, credits_pending, credits_posted"

SELECT_TRANSFERS = f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id = ANY(%s)"
LOCK_ACCOUNTS = f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
INSERT_TRANSFERS = """
    INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id,
                           timeout_seconds, user_data, timestamp, status, expires_at, resolved_at)
    SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::bigint[], %s::varchar[], %s::varchar[],
                         %s::int[], %s::varchar[], %s::int[], %s::varchar[], %s::bigint[], %s::varchar[],
                         %s::bigint[], %s::bigint[])
"""
RESOLVE_PENDING = """
    UPDATE transfers t SET status = u.status, resolved_at = u.resolved_at
    FROM unnest(%s::varchar[], %s::varchar[], %s::bigint[]) AS u(id, status, resolved_at)
    WHERE t.id = u.id
"""
UPDATE_BALANCES = """
    UPDATE accounts a SET debits_pending = u.dp, debits_posted = u.dpo, credits_pending = u.cp, credits_posted = u.cpo
    FROM unnest(%s::varchar[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS u(id, dp, dpo, cp, cpo)
    WHERE a.id = u.id
"""
SMALL = 8  # up to this many rows a statement, plain parameters beat arrays and pipelines

Event = tuple[str, str, str | None, dict[str, Any]]
"""An outbox event to write with the batch: topic, type, key and payload."""

INSERT_EVENT = "INSERT INTO outbox (topic, type, key, payload, created_at) VALUES (%s, %s, %s, %s, %s)"


def lock_then_read(
    driver: PgConnection, account_ids: Iterable[str], transfer_ids: Iterable[str]
) -> tuple[dict[str, Account], dict[str, StoredTransfer]]:
    """Lock accounts, then read transfers, as two statements over arrays in one pipeline; the read runs
    after the locks are granted, so it sees every change committed by the transactions we waited for.
    A small batch goes as plain statements instead (`small_reads`), which beat arrays."""
    accounts, transfers = sorted(set(account_ids)), list(transfer_ids)
    with driver.cursor() as accounts_cursor, driver.cursor() as transfers_cursor:
        with driver.pipeline():
            accounts_cursor.execute(LOCK_ACCOUNTS, (accounts,))
            transfers_cursor.execute(SELECT_TRANSFERS, (transfers,))
        return accounts_from_rows(accounts_cursor.fetchall()), transfers_from_rows(transfers_cursor.fetchall())


def small_reads(account_ids: Iterable[str], transfer_ids: Iterable[str]) -> list[Read] | None:
    """`lock_then_read` of a small batch as two prepared reads (`puhui.db.prepared`), which a caller may
    also send ahead with its own earlier statements; None when the batch is not small (or names none)."""
    accounts, ids = sorted(set(account_ids)), sorted(set(transfer_ids))
    if not accounts or not ids or len(accounts) + len(ids) > SMALL:
        return None
    return [
        (_prepared_lock(len(accounts)), {f"a{i}": a for i, a in enumerate(accounts)}),
        (_prepared_select(len(ids)), {f"t{i}": t for i, t in enumerate(ids)}),
    ]


_ACCOUNT_COLUMNS = [account_table.c[name] for name in ACCOUNT_COLUMNS.split(", ")]
_TRANSFER_COLUMNS = [transfer_table.c[name] for name in TRANSFER_COLUMNS.split(", ")]
# The jobs of a batch run side by side lock their accounts and look for their transfers in one statement each
# (`puhui.db.prepared.ByKeys`), whatever the number of ids each names.
_LOCK_MANY = Prepared(
    select(account_table.c.id.label("key"), *_ACCOUNT_COLUMNS)
    .where(among(account_table.c.id, "id"))
    .order_by(account_table.c.id)
    .with_for_update()
)
_SELECT_MANY = Prepared(
    select(transfer_table.c.id.label("key"), *_TRANSFER_COLUMNS).where(among(transfer_table.c.id, "id"))
)


@cache
def _prepared_lock(n: int) -> Prepared:
    wanted: list[Any] = [bindparam(f"a{i}") for i in range(n)]
    return Prepared(
        select(*_ACCOUNT_COLUMNS).where(account_table.c.id.in_(wanted)).order_by(account_table.c.id).with_for_update(),
        by_keys=ByKeys(_LOCK_MANY, ("id",), tuple((f"a{i}",) for i in range(n))),
    )


@cache
def _prepared_select(n: int) -> Prepared:
    wanted: list[Any] = [bindparam(f"t{i}") for i in range(n)]
    return Prepared(
        select(*_TRANSFER_COLUMNS).where(transfer_table.c.id.in_(wanted)),
        by_keys=ByKeys(_SELECT_MANY, ("id",), tuple((f"t{i}",) for i in range(n))),
    )


def read_transfers(driver: PgConnection, ids: Iterable[str]) -> dict[str, StoredTransfer]:
    with driver.cursor() as cursor:
        cursor.execute(SELECT_TRANSFERS, (list(ids),))
        return transfers_from_rows(cursor.fetchall())


def lock_accounts(driver: PgConnection, ids: Iterable[str]) -> dict[str, Account]:
    with driver.cursor() as cursor:
        cursor.execute(LOCK_ACCOUNTS, (sorted(set(ids)),))
        return accounts_from_rows(cursor.fetchall())


def write(
    driver: PgConnection,
    created: list[StoredTransfer],
    resolved: dict[str, tuple[PendingStatus, int]],
    changed: dict[str, Account],
    event: Event | None,
) -> None:
    """Every row of a batch: transfers, holds settled, balances, the event."""
    if is_small(created, resolved, changed):
        _write_small(driver, created, resolved, changed, event)
        return
    with driver.cursor(binary=True) as cursor, driver.pipeline():
        if created:
            cursor.execute(INSERT_TRANSFERS, _columns(created))
        if resolved:
            ids = list(resolved)
            cursor.execute(RESOLVE_PENDING, (ids, [resolved[i][0].value for i in ids], [resolved[i][1] for i in ids]))
        if changed:
            accounts = list(changed.values())
            cursor.execute(
                UPDATE_BALANCES,
                (
                    [a.id for a in accounts],
                    [a.debits_pending for a in accounts],
                    [a.debits_posted for a in accounts],
                    [a.credits_pending for a in accounts],
                    [a.credits_posted for a in accounts],
                ),
            )
        if event is not None:
            cursor.execute(INSERT_EVENT, _event_params(event))


def is_small(
    created: list[StoredTransfer], resolved: dict[str, tuple[PendingStatus, int]], changed: dict[str, Account]
) -> bool:
    """Whether `write` would send these rows as one statement (`small_statement`)."""
    return len(created) + len(resolved) + len(changed) <= 3 * SMALL


def _write_small(
    driver: PgConnection,
    created: list[StoredTransfer],
    resolved: dict[str, tuple[PendingStatus, int]],
    changed: dict[str, Account],
    event: Event | None,
) -> None:
    """A few rows: one statement of data-modifying CTEs, one round trip, no arrays."""
    found = small_statement(created, resolved, changed, event)
    if found is not None:
        with driver.cursor() as cursor:
            cursor.execute(*found)


def small_statement(
    created: list[StoredTransfer],
    resolved: dict[str, tuple[PendingStatus, int]],
    changed: dict[str, Account],
    event: Event | None,
) -> tuple[str, list[Any]] | None:
    """The rows of a small batch as one statement of data-modifying CTEs and its values (psycopg's `%s`
    style), or None when there is nothing to write."""
    parts: list[str] = []
    params: list[Any] = []
    if created:
        parts.append(f"ins AS (INSERT INTO transfers ({INSERT_COLUMNS}) VALUES {_rows(len(created), 14)})")
        for t in created:
            params += row_values(t)
    if resolved:
        parts.append(
            "res AS (UPDATE transfers t SET status = u.status, resolved_at = u.resolved_at "
            f"FROM (VALUES {_rows(len(resolved), 3, RESOLVE_TYPES)}) AS u(id, status, resolved_at) WHERE t.id = u.id)"
        )
        for i, (status, at) in resolved.items():
            params += [i, status.value, at]
    if changed:
        parts.append(
            "bal AS (UPDATE accounts a SET debits_pending = u.dp, debits_posted = u.dpo, credits_pending = u.cp, "
            f"credits_posted = u.cpo FROM (VALUES {_rows(len(changed), 5, BALANCE_TYPES)}) "
            "AS u(id, dp, dpo, cp, cpo) WHERE a.id = u.id)"
        )
        for a in changed.values():
            params += [a.id, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted]
    if event is not None:
        tail = "INSERT INTO outbox (topic, type, key, payload, created_at) VALUES (%s, %s, %s, %s, %s)"
        params += _event_params(event)
    else:
        tail = "SELECT 1"
    if not parts and event is None:
        return None
    return (f"WITH {', '.join(parts)} " if parts else "") + tail, params


INSERT_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id, "
    "timeout_seconds, user_data, timestamp, status, expires_at, resolved_at"
)
RESOLVE_TYPES = ("varchar", "varchar", "bigint")
BALANCE_TYPES = ("varchar", "bigint", "bigint", "bigint", "bigint")


def _rows(count: int, width: int, types: tuple[str, ...] | None = None) -> str:
    cells = [f"%s::{t}" for t in types] if types else ["%s"] * width
    row = "(" + ", ".join(cells) + ")"
    return ", ".join([row] * count)


def row_values(t: StoredTransfer) -> tuple[Any, ...]:
    """A stored transfer as the values of an INSERT in `INSERT_COLUMNS` order."""
    return (
        t.id,
        t.debit_account_id,
        t.credit_account_id,
        t.amount,
        t.ledger,
        t.code,
        int(t.flags),
        t.pending_id,
        t.timeout_seconds,
        t.user_data,
        t.timestamp,
        t.status.value if t.status else None,
        t.expires_at,
        t.resolved_at,
    )


def _event_params(event: Event) -> list[Any]:
    topic, type_, key, payload = event
    return [topic, type_, key, json.dumps(payload, ensure_ascii=False, separators=(",", ":")), clock.now_micros()]


def _columns(rows: list[StoredTransfer]) -> tuple[list[Any], ...]:
    return (
        [t.id for t in rows],
        [t.debit_account_id for t in rows],
        [t.credit_account_id for t in rows],
        [t.amount for t in rows],
        [t.ledger for t in rows],
        [t.code for t in rows],
        [int(t.flags) for t in rows],
        [t.pending_id for t in rows],
        [t.timeout_seconds for t in rows],
        [t.user_data for t in rows],
        [t.timestamp for t in rows],
        [t.status.value if t.status else None for t in rows],
        [t.expires_at for t in rows],
        [t.resolved_at for t in rows],
    )


def transfers_from_rows(rows: Iterable[Sequence[Any]]) -> dict[str, StoredTransfer]:
    """Rows of `TRANSFER_COLUMNS` (either backend's driver) as stored transfers by id."""
    found = {}
    for row in rows:
        seq, id_, debit, credit, amount, ledger, code, flags, pending_id, timeout, user_data, ts, status, exp, res = row
        found[id_] = StoredTransfer(
            id=id_,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            ledger=ledger,
            code=code,
            flags=TransferFlags(flags),
            pending_id=pending_id,
            timeout_seconds=timeout,
            user_data=user_data,
            timestamp=ts,
            status=PendingStatus(status) if status else None,
            expires_at=exp,
            resolved_at=res,
            seq=seq,
        )
    return found


def accounts_from_rows(rows: Iterable[Sequence[Any]]) -> dict[str, Account]:
    """Rows of `ACCOUNT_COLUMNS` (either backend's driver) as accounts by id."""
    return {
        row[0]: Account(row[0], row[1], row[2], row[3], AccountFlags(row[4]), row[5], row[6], row[7], row[8])
        for row in rows
    }
