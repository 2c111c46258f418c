"""Set-based postings: the ledger's batch path for end-of-day work over every loan or holder.

The day's transfers are staged in a temporary table (`INSERT … SELECT` over all rows at once),
checked against the ledger's rules in one query, then written as transfer rows and applied to the
balances with one grouped `UPDATE … FROM` per side — a handful of statements whatever the count.

It takes plain posted transfers (no holds, no links) on one ledger, and only where no balance
check is needed: the debited account must not be bound to keep debits within credits, the
credited one not bound to keep credits within debits, neither closed. Any staged transfer that
breaks a rule (account missing, closed or so flagged, other ledger, amount not positive, id
already used) refuses the whole batch, so the ledger's invariants — and `puhui audit` — hold
exactly as with `create_transfers`. One event sums the batch up, in place of one per transfer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events.outbox import publish

STAGE = "ledger_bulk_stage"

CREATE = f"""CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (
    id VARCHAR(64) PRIMARY KEY, debit VARCHAR(64) NOT NULL, credit VARCHAR(64) NOT NULL,
    amount BIGINT NOT NULL, code VARCHAR(48) NOT NULL)"""
INSERT = f"INSERT INTO {STAGE} (id, debit, credit, amount, code) "
CHECK = f"""
    SELECT p.id, p.debit, p.credit, p.amount FROM {STAGE} p
    LEFT JOIN accounts d ON d.id = p.debit LEFT JOIN accounts c ON c.id = p.credit
    WHERE d.id IS NULL OR c.id IS NULL OR (d.flags & 5) <> 0 OR (c.flags & 6) <> 0 OR d.ledger <> :ledger
       OR c.ledger <> :ledger OR p.amount <= 0 OR p.debit = p.credit
       OR EXISTS (SELECT 1 FROM transfers t WHERE t.id = p.id)
    LIMIT 5
"""
WRITE = f"""
    INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id,
                           timeout_seconds, user_data, timestamp, status, expires_at, resolved_at)
    SELECT id, debit, credit, amount, :ledger, code, 0, NULL, 0, NULL, :now, NULL, NULL, NULL
    FROM {STAGE} ORDER BY id
"""
DEBITS = f"""
    UPDATE accounts SET debits_posted = accounts.debits_posted + s.amount
    FROM (SELECT debit AS id, sum(amount) AS amount FROM {STAGE} GROUP BY debit) s WHERE accounts.id = s.id
"""
CREDITS = f"""
    UPDATE accounts SET credits_posted = accounts.credits_posted + s.amount
    FROM (SELECT credit AS id, sum(amount) AS amount FROM {STAGE} GROUP BY credit) s WHERE accounts.id = s.id
"""
SUMMARY = f"SELECT code, count(*), sum(amount) FROM {STAGE} GROUP BY code ORDER BY code"


class PostingRefused(RuntimeError):
    """A staged posting breaks a ledger rule: nothing is posted (the unit of work rolls back)."""


def begin(uow: UnitOfWork) -> None:
    uow.execute(text(CREATE))
    uow.execute(text(f"DELETE FROM {STAGE}"))


def stage_select(uow: UnitOfWork, select_sql: str, params: dict[str, Any]) -> None:
    """Stage the rows of a SELECT of (id, debit account, credit account, amount, code)."""
    uow.execute(text(INSERT + select_sql), params)


def stage_rows(uow: UnitOfWork, rows: list[tuple[str, str, str, int, str]]) -> None:
    if rows:
        uow.execute(text(INSERT + "VALUES (:i, :d, :c, :a, :k)"),
                    [{"i": i, "d": d, "c": c, "a": a, "k": k} for i, d, c, a, k in rows])


def post(uow: UnitOfWork, topic: str, key: str, event: str, ledger: str = "CNY") -> int:
    """Write the staged transfers and their balances; one event sums them up. Returns how many."""
    summary = uow.execute(text(SUMMARY)).all()
    count = sum(int(n) for _, n, _ in summary)
    if not count:
        return 0
    bad = uow.execute(text(CHECK), {"ledger": ledger}).all()
    if bad:
        raise PostingRefused(f"bulk postings break ledger rules: {[tuple(r) for r in bad]}")
    uow.execute(text(WRITE), {"now": clock.now_micros(), "ledger": ledger})
    uow.execute(text(DEBITS))
    uow.execute(text(CREDITS))
    uow.execute(text(f"DELETE FROM {STAGE}"))
    publish(uow, topic, event, key,
            {"transfers": count, "by_code": {code: {"count": int(n), "amount": int(a)} for code, n, a in summary}})
    return count
