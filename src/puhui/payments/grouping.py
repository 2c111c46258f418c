"""Payments in a group commit (成组提交, `puhui.db.group_commit`): what a payment locks up front.

On PostgreSQL a batch locks every wallet its payments move money between — payers, payees and the
merchants behind the QR codes — in one sorted statement before any payment runs. The fee income,
which every QR payment credits, is not among them: the ledger credits it once, last in the batch
(`puhui.ledger.late_credits`), so batches of different processes do not queue on it. Every other
row a payment locks (its QR code, its payer's limits, its idempotency key) belongs to one of those
wallets, so two batches in different processes that share a row queue on the wallet lock instead
of deadlocking.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Engine

from puhui.db import UnitOfWork
from puhui.db.group_commit import Job, run
from puhui.identity.org import WALLET_PREFIX
from puhui.identity.service import customer_wallet_id
from puhui.ledger.queries import lock_accounts

T = TypeVar("T")


def qr_locks(payer_id: str, qr_id: str) -> tuple[Hashable, ...]:
    return (("wallet", customer_wallet_id(payer_id)), ("qr", qr_id))


def p2p_locks(payer_id: str, payee_id: str) -> tuple[Hashable, ...]:
    return (("wallet", customer_wallet_id(payer_id)), ("wallet", customer_wallet_id(payee_id)))


def lock_wallets(uow: UnitOfWork, keys: set[Any]) -> None:
    """The batch's wallets, locked in id order: the payers', the payees' and the QR codes' merchants',
    whose ids the same statement reads from the codes (one statement a batch)."""
    wallets = {key[1] for key in keys if key[0] == "wallet"}
    qr_ids = sorted(key[1] for key in keys if key[0] == "qr")
    if not uow.postgres:  # SQLite has one writer: nothing to lock
        return
    merchants = ("SELECT %s || merchant_id FROM qr_codes WHERE id = ANY(%s)", (WALLET_PREFIX, qr_ids))
    lock_accounts(uow, wallets, also=merchants if qr_ids else None)


def job(work: Callable[[UnitOfWork], T], locks: tuple[Hashable, ...], **options: Any) -> Job[T]:
    return Job(work, locks=locks, locker=lock_wallets, **options)


def commit(engine: Engine, work: Callable[[UnitOfWork], T], locks: tuple[Hashable, ...] = ()) -> T:
    """Run one payment's unit of work in the engine's next group commit and wait until it is durable."""
    return run(engine, work, locks=locks, locker=lock_wallets)
