"""The ledger's invariants, checked against the database (`puhui audit`).

1. Per ledger, total debits equal total credits (posted and pending separately).
2. Every account's four balances equal the sums of its transfers.
3. No account with a balance flag is overdrawn.
4. No pending transfer is past its timeout without having been expired.
5. Every settled hold has exactly one post/void transfer, and every post/void settles a hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, text

from puhui import clock
from puhui.ledger.models import AccountFlags, TransferFlags

SAMPLE = 20

_POSTED = int(TransferFlags.pending | TransferFlags.void_pending)
_PENDING = int(TransferFlags.pending)
_SETTLES = int(TransferFlags.post_pending | TransferFlags.void_pending)


@dataclass
class Violation:
    check: str
    rows: list[dict[str, object]]


@dataclass
class AuditReport:
    violations: list[Violation] = field(default_factory=list)
    accounts: int = 0
    transfers: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations


CHECKS: dict[str, str] = {
    "ledger_totals_balance": """
        SELECT ledger,
               sum(debits_posted) AS debits_posted, sum(credits_posted) AS credits_posted,
               sum(debits_pending) AS debits_pending, sum(credits_pending) AS credits_pending
        FROM accounts GROUP BY ledger
        HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)
    """,
    "account_balances_match_transfers": f"""
        WITH d AS (
            SELECT debit_account_id AS id,
                   sum(CASE WHEN flags & {_POSTED} = 0 THEN amount ELSE 0 END) AS posted,
                   sum(CASE WHEN flags & {_PENDING} <> 0 AND status = 'pending' THEN amount ELSE 0 END) AS held
            FROM transfers GROUP BY debit_account_id
        ), c AS (
            SELECT credit_account_id AS id,
                   sum(CASE WHEN flags & {_POSTED} = 0 THEN amount ELSE 0 END) AS posted,
                   sum(CASE WHEN flags & {_PENDING} <> 0 AND status = 'pending' THEN amount ELSE 0 END) AS held
            FROM transfers GROUP BY credit_account_id
        )
        SELECT a.id, a.debits_posted, coalesce(d.posted, 0) AS transfers_debits_posted,
               a.credits_posted, coalesce(c.posted, 0) AS transfers_credits_posted,
               a.debits_pending, coalesce(d.held, 0) AS transfers_debits_pending,
               a.credits_pending, coalesce(c.held, 0) AS transfers_credits_pending
        FROM accounts a LEFT JOIN d ON d.id = a.id LEFT JOIN c ON c.id = a.id
        WHERE a.debits_posted <> coalesce(d.posted, 0) OR a.credits_posted <> coalesce(c.posted, 0)
           OR a.debits_pending <> coalesce(d.held, 0) OR a.credits_pending <> coalesce(c.held, 0)
    """,
    "transfers_name_existing_accounts": """
        SELECT t.id, t.debit_account_id, t.credit_account_id FROM transfers t
        WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = t.debit_account_id AND a.ledger = t.ledger)
           OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = t.credit_account_id AND a.ledger = t.ledger)
    """,
    "flagged_accounts_not_overdrawn": f"""
        SELECT id, flags, debits_pending, debits_posted, credits_pending, credits_posted FROM accounts
        WHERE (flags & {int(AccountFlags.debits_must_not_exceed_credits)} <> 0
               AND debits_pending + debits_posted > credits_posted)
           OR (flags & {int(AccountFlags.credits_must_not_exceed_debits)} <> 0
               AND credits_pending + credits_posted > debits_posted)
    """,
    "no_overdue_pending": """
        SELECT id, expires_at FROM transfers
        WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= :now
    """,
    "holds_settled_once": f"""
        SELECT s.pending_id, count(*) AS settlements, min(p.status) AS status FROM transfers s
        LEFT JOIN transfers p ON p.id = s.pending_id
        WHERE s.flags & {_SETTLES} <> 0
        GROUP BY s.pending_id
        HAVING count(*) <> 1 OR min(p.status) IS NULL
            OR min(CASE WHEN s.flags & {int(TransferFlags.post_pending)} <> 0 THEN 'posted' ELSE 'voided' END)
               <> min(p.status)
    """,
    "settled_holds_have_settlements": f"""
        SELECT 'posted or voided holds' AS what,
               (SELECT count(*) FROM transfers WHERE status IN ('posted', 'voided')) AS holds,
               (SELECT count(*) FROM transfers WHERE flags & {_SETTLES} <> 0) AS settlements
        WHERE (SELECT count(*) FROM transfers WHERE status IN ('posted', 'voided'))
           <> (SELECT count(*) FROM transfers WHERE flags & {_SETTLES} <> 0)
    """,
}


def audit(connection: Connection) -> AuditReport:
    """Run every check; give it a `puhui.db.reading` connection so all checks see one snapshot."""
    report = AuditReport()
    report.accounts = connection.execute(text("SELECT count(*) FROM accounts")).scalar_one()
    report.transfers = connection.execute(text("SELECT count(*) FROM transfers")).scalar_one()
    now = clock.now_micros()
    for name, sql in CHECKS.items():
        params = {"now": now} if ":now" in sql else {}
        rows = connection.execute(text(sql), params).mappings().fetchmany(SAMPLE)
        if rows:
            report.violations.append(Violation(name, [{k: _plain(v) for k, v in r.items()} for r in rows]))
    return report


def _plain(value: object) -> object:
    """PostgreSQL sums bigints as numeric: report whole numbers as ints (JSON-ready)."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value
