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
    SELECT id, debit, credit, amount, :ledger, code, 0, NULL, 0, CAST(:user_data AS VARCHAR(256)), :now,
           NULL, NULL, NULL
    FROM {STAGE} ORDER BY id
"""
_AVAILABLE = "(a.credits_posted - a.debits_posted - a.debits_pending)"
PRO_RATA = f"""
    SELECT CAST(:prefix AS VARCHAR(32)) || a.id, CAST(:source AS VARCHAR(64)), a.id,
           {_AVAILABLE} * :numerator / :denominator, CAST(:code AS VARCHAR(48))
    FROM accounts a
    WHERE a.ledger = :ledger AND a.code = :holder_code AND (a.flags & 4) = 0
      AND {_AVAILABLE} * :numerator / :denominator > 0
"""
HOLDINGS = f"""
    SELECT count(*), coalesce(sum({_AVAILABLE}), 0) FROM accounts a
    WHERE a.ledger = :ledger AND a.code = :holder_code AND (a.flags & 4) = 0 AND {_AVAILABLE} > 0
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
        uow.execute(
            text(INSERT + "VALUES (:i, :d, :c, :a, :k)"),
            [{"i": i, "d": d, "c": c, "a": a, "k": k} for i, d, c, a, k in rows],
        )


def holdings(uow: UnitOfWork, *, ledger: str, holder_code: str) -> tuple[int, int]:
    """(how many, Σ available) of the open accounts of `holder_code` on `ledger` that hold something."""
    count, total = uow.execute(text(HOLDINGS), {"ledger": ledger, "holder_code": holder_code}).one()
    return int(count), int(total)


def stage_pro_rata(
    uow: UnitOfWork,
    *,
    ledger: str,
    holder_code: str,
    source: str,
    numerator: int,
    denominator: int,
    id_prefix: str,
    code: str,
) -> None:
    """Stage, from `source` to every open account of `holder_code` on `ledger`, floor(its available
    balance × numerator / denominator); holders whose share rounds to nothing are skipped. Each
    transfer's id is `id_prefix` + the holder's account id."""
    uow.execute(
        text(INSERT + PRO_RATA),
        {
            "prefix": id_prefix,
            "source": source,
            "numerator": numerator,
            "denominator": denominator,
            "code": code,
            "ledger": ledger,
            "holder_code": holder_code,
        },
    )


def staged(uow: UnitOfWork) -> tuple[int, int]:
    """(how many, Σ amount) of the transfers staged so far."""
    summary = uow.execute(text(SUMMARY)).all()
    return sum(int(n) for _, n, _ in summary), sum(int(a) for _, _, a in summary)


def post(uow: UnitOfWork, topic: str, key: str, event: str, ledger: str = "CNY", user_data: str | None = None) -> int:
    """Write the staged transfers (each with `user_data`) and their balances; one event sums them up.
    Returns how many."""
    summary = uow.execute(text(SUMMARY)).all()
    count = sum(int(n) for _, n, _ in summary)
    if not count:
        return 0
    bad = uow.execute(text(CHECK), {"ledger": ledger}).all()
    if bad:
        raise PostingRefused(f"bulk postings break ledger rules: {[tuple(r) for r in bad]}")
    uow.execute(text(WRITE), {"now": clock.now_micros(), "ledger": ledger, "user_data": user_data})
    uow.execute(text(DEBITS))
    uow.execute(text(CREDITS))
    uow.execute(text(f"DELETE FROM {STAGE}"))
    publish(
        uow,
        topic,
        event,
        key,
        {"transfers": count, "by_code": {code: {"count": int(n), "amount": int(a)} for code, n, a in summary}},
    )
    return count
