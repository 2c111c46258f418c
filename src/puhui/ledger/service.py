"""Ledger operations, each inside the caller's unit of work.

`create_transfers` is the one way money moves: it locks the accounts a batch touches (in id order
on PostgreSQL; SQLite has a single writer), applies the batch rules, and writes the transfer rows,
the new balances and one outbox event in the same transaction.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Connection, Engine, RowMapping, bindparam, select, update

from puhui import clock
from puhui.db import UnitOfWork
from puhui.db.prepared import Read, alone, run_all, run_sql, wrote
from puhui.events import outbox
from puhui.ledger import late_credits, pg, queries
from puhui.ledger.batch import BatchOutcome, apply_batch
from puhui.ledger.errors import (
    AccountCodeNotFound,
    AccountNotFound,
    BatchTooLarge,
    InsufficientFunds,
    InvalidAccount,
    LedgerNotFound,
    LedgerRefused,
    Shortfall,
)
from puhui.ledger.models import (
    MAX_BATCH,
    Account,
    AccountFlags,
    AccountResult,
    Balances,
    PendingStatus,
    StoredTransfer,
    Transfer,
    TransferFlags,
    TransferResult,
    check_id,
)
from puhui.ledger.tables import account_codes, accounts, ledgers, transfers
from puhui.money import format_minor

TOPIC = "ledger"
_CHUNK = 1000


@dataclass(frozen=True)
class Ledger:
    code: str
    name: str
    kind: str
    scale: int


_ledger_cache: weakref.WeakKeyDictionary[Engine, dict[str, Ledger]] = weakref.WeakKeyDictionary()


def forget_ledgers(engine: Engine) -> None:
    """Drop the cached ledgers of `engine` (after a ledger was added at run time, e.g. a new fund)."""
    _ledger_cache.pop(engine, None)


def create_ledger(uow: UnitOfWork, code: str, name: str, *, kind: str, scale: int) -> Ledger:
    """Add a ledger at run time (a new fund's units, 份额账本); the engine's ledger cache is refreshed
    now and again after the commit."""
    uow.execute(ledgers.insert().values(code=code, name=name[:128], kind=kind, scale=scale))
    engine = uow.connection.engine
    forget_ledgers(engine)
    uow.after_commit.append(lambda: forget_ledgers(engine))
    return Ledger(code, name[:128], kind, scale)


def ledgers_of(connection: Connection) -> dict[str, Ledger]:
    """The ledgers (currencies and assets) by code; cached per engine, they change only by migration."""
    cached = _ledger_cache.get(connection.engine)
    if cached is None:
        rows = connection.execute(select(ledgers)).mappings()
        cached = {r["code"]: Ledger(r["code"], r["name"], r["kind"], r["scale"]) for r in rows}
        _ledger_cache[connection.engine] = cached
    return cached


def ledger_of(connection: Connection, code: str) -> Ledger:
    try:
        return ledgers_of(connection)[code]
    except KeyError:
        raise LedgerNotFound(f"ledger {code!r} does not exist") from None


# -- accounts ---------------------------------------------------------------------------------


def create_account(
    uow: UnitOfWork,
    *,
    ledger: str,
    code: str,
    owner_id: str | None = None,
    flags: AccountFlags = AccountFlags.NONE,
    id: str | None = None,
) -> tuple[AccountResult, Account]:
    """Open an account (开户). Creating the same id again with the same fields is `exists`."""
    account_id = uuid.uuid4().hex if id is None else id
    if not check_id(account_id):
        raise InvalidAccount(f"account id {account_id!r} must be 1-64 characters of A-Z a-z 0-9 . _ : -")
    if owner_id is not None and not check_id(owner_id):
        raise InvalidAccount("owner_id must be 1-64 characters of A-Z a-z 0-9 . _ : -")
    if AccountFlags.closed in flags:
        raise InvalidAccount("an account cannot be opened closed")
    both = AccountFlags.debits_must_not_exceed_credits | AccountFlags.credits_must_not_exceed_debits
    if flags & both == both:
        raise InvalidAccount("debits_must_not_exceed_credits and credits_must_not_exceed_debits exclude each other")
    ledger_of(uow.connection, ledger)
    if uow.execute(select(account_codes.c.code).where(account_codes.c.code == code)).first() is None:
        raise AccountCodeNotFound(f"{code!r} is not in the chart of accounts")
    existing = get_account(uow.connection, account_id)
    if existing is not None:
        return _compare_account(existing, ledger, code, owner_id, flags), existing
    uow.execute(
        accounts.insert().values(
            id=account_id, ledger=ledger, code=code, owner_id=owner_id, flags=int(flags), created_at=clock.now_micros()
        )
    )
    account = Account(id=account_id, ledger=ledger, code=code, owner_id=owner_id, flags=flags)
    outbox.publish(uow, TOPIC, "ledger.account_opened", account_id, {"id": account_id, "ledger": ledger, "code": code})
    return AccountResult.ok, account


def _compare_account(e: Account, ledger: str, code: str, owner_id: str | None, flags: AccountFlags) -> AccountResult:
    if e.ledger != ledger:
        return AccountResult.exists_with_different_ledger
    if e.code != code:
        return AccountResult.exists_with_different_code
    if e.owner_id != owner_id:
        return AccountResult.exists_with_different_owner_id
    if (e.flags & ~AccountFlags.closed) != flags:
        return AccountResult.exists_with_different_flags
    return AccountResult.exists


def get_account(connection: Connection, account_id: str) -> Account | None:
    row = connection.execute(select(accounts).where(accounts.c.id == account_id)).mappings().first()
    return account_from_row(row) if row else None


def require_account(connection: Connection, account_id: str) -> Account:
    account = get_account(connection, account_id)
    if account is None:
        raise AccountNotFound(f"account {account_id!r} does not exist")
    return account


def set_account_closed(uow: UnitOfWork, account_id: str, closed: bool) -> Account:
    """Close (冻结/销户) or reopen an account. A closed account takes no new transfers; holds
    on it can still be voided or expire."""
    locked = _lock_accounts(uow, [account_id])
    if account_id not in locked:
        raise AccountNotFound(f"account {account_id!r} does not exist")
    account = locked[account_id]
    flags = account.flags | AccountFlags.closed if closed else account.flags & ~AccountFlags.closed
    if flags != account.flags:
        uow.execute(update(accounts).where(accounts.c.id == account_id).values(flags=int(flags)))
        kind = "ledger.account_closed" if closed else "ledger.account_reopened"
        outbox.publish(uow, TOPIC, kind, account_id, {"id": account_id})
    return replace(account, flags=flags)


def account_from_row(row: RowMapping) -> Account:
    return Account(
        id=row["id"],
        ledger=row["ledger"],
        code=row["code"],
        owner_id=row["owner_id"],
        flags=AccountFlags(row["flags"]),
        debits_pending=row["debits_pending"],
        debits_posted=row["debits_posted"],
        credits_pending=row["credits_pending"],
        credits_posted=row["credits_posted"],
    )


def _lock_accounts(uow: UnitOfWork, ids: Iterable[str]) -> dict[str, Account]:
    """Load accounts for update. PostgreSQL row locks are taken in id order, so two batches
    over the same accounts never deadlock; on SQLite the transaction already holds the write lock."""
    if uow.postgres:
        return pg.lock_accounts(_driver(uow), ids)
    wanted = sorted(set(ids))
    found: dict[str, Account] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = run_sql(uow.connection, _sqlite_in(_SQLITE_ACCOUNTS, chunk), tuple(chunk))
        found.update(pg.accounts_from_rows(rows))
    return found


# -- transfers --------------------------------------------------------------------------------


def post_chain(
    uow: UnitOfWork,
    transfers: Sequence[Transfer],
    *,
    short: Shortfall = InsufficientFunds,
    what: str | None = None,
    credit_late: frozenset[str] = frozenset(),
    write_late: bool = False,
) -> None:
    """Post `transfers` as one linked chain: all or nothing. A debit an account cannot cover raises
    `short(what)` (by default `InsufficientFunds`, naming the account and the amount); any other
    refusal raises `LedgerRefused` with the failing transfer and its result. `write_late`: see
    `create_transfers`."""
    if not transfers:
        return
    last = len(transfers) - 1
    chain = [t if i == last else replace(t, flags=t.flags | TransferFlags.linked) for i, t in enumerate(transfers)]
    results = create_transfers(uow, chain, credit_late=credit_late, write_late=write_late)
    for transfer, result in zip(chain, results, strict=True):
        if result == TransferResult.exceeds_credits:
            raise short(what or f"account {transfer.debit_account_id} cannot cover {_amount_text(transfer)}")
    for transfer, result in zip(chain, results, strict=True):
        if result not in (TransferResult.ok, TransferResult.linked_event_failed):
            raise LedgerRefused(f"transfer {transfer.id} failed: {result.value}", result=result.value)


def _amount_text(transfer: Transfer) -> str:
    """The transfer's amount as a decimal string, or what a posting of a whole hold moves."""
    if transfer.amount is None:
        return f"the amount held by {transfer.pending_id}"
    return format_minor(transfer.amount, 2)


def create_transfers(
    uow: UnitOfWork,
    batch: Sequence[Transfer],
    *,
    credit_late: frozenset[str] = frozenset(),
    write_late: bool = False,
) -> list[TransferResult]:
    """Apply a batch (up to 8,190) in one commit; each transfer gets its own result. In a group-commit
    job, the accounts of `credit_late` that the batch only credits are credited by the group commit
    (`puhui.ledger.late_credits`). With `write_late`, a group-commit job's rows on PostgreSQL go with the
    job's other deferred writes (`UnitOfWork.write_sql`), one round trip fewer: only for a caller that reads
    no ledger row after this in its job (another `create_transfers` in the job sends them first)."""
    if len(batch) > MAX_BATCH:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH} transfers, got {len(batch)}")
    if not batch:
        return []
    if uow.has_deferred_sql():  # an earlier batch of this job wrote late: this one reads what it wrote
        uow.flush()
    now = clock.now_micros()
    pending_ids = {t.pending_id for t in batch if t.pending_id}
    named = {a for t in batch for a in (t.debit_account_id, t.credit_account_id) if a}
    late = late_credits.eligible(uow, batch, credit_late)
    stored, locked = _load_for_batch(uow, {t.id for t in batch}, pending_ids, named - late)
    before = late_credits.read(uow, late) if late else {}
    outcome = apply_batch(list(batch), {**locked, **before}, stored, now)
    if before:
        late_credits.keep(uow, outcome, before)
    _write_outcome(uow, outcome, write_late=write_late)
    return outcome.results


def reads_ahead(
    uow: UnitOfWork, transfer_ids: Iterable[str], locked_accounts: Iterable[str], credited_late: Iterable[str] = ()
) -> list[Read]:
    """The reads `create_transfers` will make first for a batch of these transfer ids, which locks these
    accounts (those it names, less the ones it credits late, `credited_late`) and names no hold: for a
    caller to send ahead with its own earlier statements (PostgreSQL; a round trip fewer). A batch that
    differs reads again."""
    if not uow.postgres:
        return []
    late = late_credits.reads_ahead(uow, credited_late) if uow.batch_sums is not None else []
    return [*(pg.small_reads(locked_accounts, transfer_ids) or []), *late]


def _load_for_batch(
    uow: UnitOfWork, ids: set[str], pending_ids: set[str], named: set[str]
) -> tuple[dict[str, StoredTransfer], dict[str, Account]]:
    """The transfers a batch names (for idempotency and holds) and its accounts, locked.

    On PostgreSQL the transfers are read after the account locks are granted, so the status of
    every hold on a locked account is the committed one (READ COMMITTED takes a fresh snapshot
    per statement). The accounts of holds named by `pending_id` are read first and locked with
    the rest in one sorted statement; a hold committed after that read may still name accounts
    not yet locked, so those are locked and the transfers read again until nothing new appears.
    """
    wanted = ids | pending_ids
    if not uow.postgres:  # the transaction already holds SQLite's write lock
        stored = _select_transfers(uow.connection, wanted)
        named |= {a for p in stored.values() for a in (p.debit_account_id, p.credit_account_id)}
        return stored, _lock_accounts(uow, named)
    if pending_ids:
        # A hold's accounts never change, so an unlocked read is enough to know what to lock:
        # then every account is locked in one sorted statement and lock order stays global.
        holds = pg.read_transfers(_driver(uow), pending_ids)
        named |= {a for p in holds.values() for a in (p.debit_account_id, p.credit_account_id)}
    locked, stored = _lock_then_read(uow, named, wanted)
    while pending_ids:
        missing = {
            a for i in pending_ids if i in stored for a in (stored[i].debit_account_id, stored[i].credit_account_id)
        } - set(locked)
        if not missing:
            break
        more, stored = _lock_then_read(uow, missing, wanted)
        locked.update(more)
    return stored, locked


def _lock_then_read(
    uow: UnitOfWork, account_ids: set[str], transfer_ids: set[str]
) -> tuple[dict[str, Account], dict[str, StoredTransfer]]:
    """`pg.lock_then_read`; a small batch as prepared reads, which a caller may have sent ahead (`reads_ahead`)."""
    reads = pg.small_reads(account_ids, transfer_ids)
    if reads is None:
        return pg.lock_then_read(_driver(uow), account_ids, transfer_ids)
    locked_rows, read_rows = run_all(uow.connection, reads)
    return pg.accounts_from_rows(locked_rows.all()), pg.transfers_from_rows(read_rows.all())


def expire_pending(uow: UnitOfWork, limit: int = 1000) -> int:
    """Release holds whose timeout has passed (pending -> expired); returns how many."""
    now = clock.now_micros()
    due = uow.execute(
        select(transfers.c.id, transfers.c.debit_account_id, transfers.c.credit_account_id)
        .where(transfers.c.status == PendingStatus.pending.value, transfers.c.expires_at <= now)
        .order_by(transfers.c.expires_at)
        .limit(limit)
    ).all()
    if not due:
        return 0
    locked = _lock_accounts(uow, {a for row in due for a in (row[1], row[2])})
    stored = _stored_transfers(uow, {row[0] for row in due})
    outcome = apply_batch([], locked, stored, now)
    _write_outcome(uow, outcome)
    return len(outcome.expired)


def _driver(uow: UnitOfWork) -> pg.PgConnection:
    """The psycopg connection under the unit of work, for the pipelined hot path (PostgreSQL only)."""
    alone(uow.connection)
    return cast("pg.PgConnection", uow.connection.connection.driver_connection)


def _stored_transfers(uow: UnitOfWork, ids: set[str]) -> dict[str, StoredTransfer]:
    if uow.postgres:
        return pg.read_transfers(_driver(uow), ids)
    return _select_transfers(uow.connection, ids)


def _select_transfers(connection: Connection, ids: set[str]) -> dict[str, StoredTransfer]:
    wanted = sorted(ids)
    found: dict[str, StoredTransfer] = {}
    sqlite = connection.dialect.name == "sqlite"
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        if sqlite:
            rows = run_sql(connection, _sqlite_in(_SQLITE_TRANSFERS, chunk), tuple(chunk))
            found.update(pg.transfers_from_rows(rows))
            continue
        for row in connection.execute(select(transfers).where(transfers.c.id.in_(chunk))).mappings():
            found[row["id"]] = _stored(row)
    return found


# SQLite's hot path as plain driver SQL with tuples: skipping SQLAlchemy's statement building and row
# mapping saved 0.5-0.7 ms of a QR payment's 7 ms of server CPU (`puhui bench payments`, A/B).
_SQLITE_TRANSFERS = f"SELECT {pg.TRANSFER_COLUMNS} FROM transfers WHERE id IN "
_SQLITE_ACCOUNTS = f"SELECT {pg.ACCOUNT_COLUMNS} FROM accounts WHERE id IN "
_SQLITE_UPDATE_BALANCES = (
    "UPDATE accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?, credits_posted = ? WHERE id = ?"
)


def _sqlite_in(select_in: str, ids: Sequence[str]) -> str:
    return select_in + "(" + ", ".join("?" * len(ids)) + ")"


def _stored(row: RowMapping) -> StoredTransfer:
    return StoredTransfer(
        id=row["id"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount=row["amount"],
        ledger=row["ledger"],
        code=row["code"],
        flags=TransferFlags(row["flags"]),
        pending_id=row["pending_id"],
        timeout_seconds=row["timeout_seconds"],
        user_data=row["user_data"],
        timestamp=row["timestamp"],
        status=PendingStatus(row["status"]) if row["status"] else None,
        expires_at=row["expires_at"],
        resolved_at=row["resolved_at"],
        seq=row["seq"],
    )


def _write_outcome(uow: UnitOfWork, outcome: BatchOutcome, *, write_late: bool = False) -> None:
    """Transfer rows, settled holds, new balances and one outbox event, in the caller's transaction."""
    event = None
    if outcome.created or outcome.resolved:
        event = (TOPIC, "ledger.transfers_committed", None, _event(uow.connection, outcome))
    if uow.postgres:
        if write_late and pg.is_small(outcome.created, outcome.resolved, outcome.accounts):
            batched = event is not None and uow.batch_events is not None  # numbered with its batch's events
            found = pg.small_statement(outcome.created, outcome.resolved, outcome.accounts, None if batched else event)
            if found is None or uow.write_sql(*found):
                if batched:
                    outbox.publish(uow, *event)  # type: ignore[misc]
                return
        wrote(uow.connection, "accounts", "transfers", "outbox")  # on the driver's cursor: rows read ahead are stale
        pg.write(_driver(uow), outcome.created, outcome.resolved, outcome.accounts, event)
        return
    if outcome.created:
        # Plain DBAPI executemany with tuples: SQLAlchemy's per-row dict handling would double the cost.
        run_sql(uow.connection, SQLITE_INSERT_TRANSFERS, [pg.row_values(t) for t in outcome.created], many=True)
    if outcome.resolved:
        uow.execute(
            update(transfers)
            .where(transfers.c.id == bindparam("t_id"))
            .values(status=bindparam("t_status"), resolved_at=bindparam("t_resolved_at")),
            [{"t_id": i, "t_status": s.value, "t_resolved_at": at} for i, (s, at) in outcome.resolved.items()],
        )
    if outcome.accounts:
        balances = [
            (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.id)
            for a in outcome.accounts.values()
        ]
        run_sql(uow.connection, _SQLITE_UPDATE_BALANCES, balances, many=True)
    if event is not None:
        outbox.publish(uow, *event)


SQLITE_INSERT_TRANSFERS = f"INSERT INTO transfers ({pg.INSERT_COLUMNS}) VALUES ({', '.join(['?'] * 14)})"


def _event(connection: Connection, outcome: BatchOutcome) -> dict[str, Any]:
    """The batch's event: the transfers it created (compact: one timestamp for the batch, empty
    fields left out) and the holds it settled or expired."""
    scales = {code: ledger.scale for code, ledger in ledgers_of(connection).items()}
    flag_names: dict[int, list[str]] = {}
    created = []
    for t in outcome.created:
        row: dict[str, str | list[str]] = {
            "id": t.id,
            "debit_account_id": t.debit_account_id,
            "credit_account_id": t.credit_account_id,
            "amount": format_minor(t.amount, scales[t.ledger]),
            "ledger": t.ledger,
            "code": t.code,
        }
        if t.flags:
            row["flags"] = flag_names.get(t.flags) or flag_names.setdefault(t.flags, t.flags.names())
        if t.pending_id:
            row["pending_id"] = t.pending_id
        if t.user_data is not None:
            row["user_data"] = t.user_data
        created.append(row)
    at = outcome.created[0].timestamp if outcome.created else next(iter(outcome.resolved.values()))[1]
    return {
        "timestamp": clock.from_micros(at).isoformat(),
        "transfers": created,
        "pending_resolved": [{"id": i, "status": s.value} for i, (s, _at) in outcome.resolved.items()],
    }


def transfer_json(t: StoredTransfer, scale: int) -> dict[str, Any]:
    """A stored transfer as the API and events show it (amounts as decimal strings)."""
    return {
        "id": t.id,
        "debit_account_id": t.debit_account_id,
        "credit_account_id": t.credit_account_id,
        "amount": format_minor(t.amount, scale),
        "ledger": t.ledger,
        "code": t.code,
        "flags": t.flags.names(),
        "pending_id": t.pending_id,
        "timeout_seconds": t.timeout_seconds,
        "user_data": t.user_data,
        "timestamp": clock.from_micros(t.timestamp).isoformat(),
        "status": t.status.value if t.status else None,
    }


# -- reading history ----------------------------------------------------------------------------


def get_transfers(connection: Connection, ids: Iterable[str]) -> dict[str, StoredTransfer]:
    return _select_transfers(connection, set(ids))


def account_history(
    connection: Connection, account_id: str, *, after_seq: int | None = None, limit: int = 100
) -> list[StoredTransfer]:
    """The account's transfers in ledger order, a page at a time (cursor = last `seq` seen)."""
    page: list[RowMapping] = []
    for column in (transfers.c.debit_account_id, transfers.c.credit_account_id):
        query = select(transfers).where(column == account_id)
        if after_seq is not None:
            query = query.where(transfers.c.seq > after_seq)
        page.extend(connection.execute(query.order_by(transfers.c.seq).limit(limit)).mappings())
    page.sort(key=lambda row: row["seq"])
    return [_stored(row) for row in page[:limit]]


def recent_transfers(
    connection: Connection,
    account_id: str,
    *,
    before_seq: int | None = None,
    limit: int = 100,
    direction: str | None = None,
    code: str | None = None,
    since_micros: int | None = None,
    until_micros: int | None = None,
) -> list[StoredTransfer]:
    """The account's transfers newest first, a page at a time (cursor = the last `seq` seen), as its
    statement (账单) lists them: a hold once, with its status, and not the transfer that posted or voided
    it. `direction` "in" keeps the account's credits, "out" its debits; `since_micros` and `until_micros`
    bound the transfers' time, [since, until)."""
    sides = {"in": (transfers.c.credit_account_id,), "out": (transfers.c.debit_account_id,)}
    page: list[RowMapping] = []
    for column in sides.get(direction or "", (transfers.c.debit_account_id, transfers.c.credit_account_id)):
        query = select(transfers).where(column == account_id, transfers.c.pending_id.is_(None))
        if before_seq is not None:
            query = query.where(transfers.c.seq < before_seq)
        if code is not None:
            query = query.where(transfers.c.code == code)
        if since_micros is not None:
            query = query.where(transfers.c.timestamp >= since_micros)
        if until_micros is not None:
            query = query.where(transfers.c.timestamp < until_micros)
        page.extend(connection.execute(query.order_by(transfers.c.seq.desc()).limit(limit)).mappings())
    page.sort(key=lambda row: row["seq"], reverse=True)
    return [_stored(row) for row in page[:limit]]


def balance_as_of(connection: Connection, account_id: str, at_micros: int) -> Balances:
    """The account's balances as they stood at `at_micros` (inclusive), from its transfers
    (`queries.balances_as_of` for one account)."""
    return queries.balances_as_of(connection, [account_id], at_micros)[account_id]
