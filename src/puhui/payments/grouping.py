"""Payments in a group commit (成组提交, `puhui.db.group_commit`): what a payment locks up front.

On PostgreSQL a batch locks every wallet its payments move money between — payers, payees and the
merchants behind the QR codes — in one sorted statement before any payment runs. The fee income,
which every QR payment credits, is not among them: the ledger credits it once, last in the batch
(`puhui.ledger.late_credits`), so batches of different processes do not queue on it. Every other
row a payment locks (its QR code, its payer's limits, its idempotency key) belongs to one of those
wallets, so two batches in different processes that share a row queue on the wallet lock instead
of deadlocking.

The same round trip reads what the batch's QR codes and payers are as it begins (`seen`): a code's kind,
amount and merchant never change, and a payer's wallet class seldom does, so a payment's job guesses
from them the code's taking and its limits' counting and sends them with its first reads
(`puhui.db.prepared.take_guess`). A guess is checked against what the job itself reads, and undone
when it was wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Engine

from puhui.db import UnitOfWork
from puhui.db.group_commit import Job, run
from puhui.identity.kyc import tiers_sql
from puhui.identity.models import WalletTier
from puhui.identity.org import WALLET_PREFIX, terms_sql
from puhui.identity.service import customer_wallet_id
from puhui.ledger.queries import lock_accounts

T = TypeVar("T")


def qr_locks(payer_id: str, qr_id: str) -> tuple[Hashable, ...]:
    """The payer's wallet and the code's merchant's, locked; the code and the payer's class, `seen`."""
    return (("wallet", customer_wallet_id(payer_id)), ("qr", qr_id), ("payer", payer_id))


@dataclass(frozen=True)
class QrSeen:
    """A QR code as its batch began: what of it never changes, and its status then."""

    merchant_id: str
    kind: str
    amount: int | None
    status: str
    expires_at: int | None


def code_seen(shared: dict[Any, Any], qr_id: str) -> QrSeen | None:
    """A dynamic code as its batch began, which its payment reads no more: its kind, amount, merchant and
    expiry never change, and its status leaves `active` once, never to return, which its taking checks
    (`UPDATE ... WHERE status = 'active'`). None for a code the batch did not read, or a static one."""
    code = shared.get((_SEEN_QR, qr_id))
    return code if code is not None and code.kind == "dynamic" else None


def tier_seen(shared: dict[Any, Any], payer_id: str) -> WalletTier | None:
    """The payer's wallet class as its batch began, read once its wallet was locked. A read of the
    payment's own, later in the same transaction, would lock nothing either: under READ COMMITTED each is
    the class as committed at some moment of the payment's transaction. None when the batch did not read
    one, or the payer has no class yet."""
    tier = shared.get((_SEEN_TIER, payer_id))
    return tier if isinstance(tier, WalletTier) else None


def terms_seen(shared: dict[Any, Any], merchant_id: str) -> tuple[str, int | None] | None:
    """A code's merchant's status and fee rate as its batch began (`identity.org.judged_terms` judges them):
    a read of the payment's own, later in the same transaction, would lock nothing either. None when the
    batch did not read them."""
    return shared.get((_SEEN_TERMS, merchant_id))


def seen(shared: dict[Any, Any], qr_id: str, payer_id: str) -> tuple[QrSeen, WalletTier | None] | None:
    """The code and the payer's wallet class as the batch began, when the batch read both (PostgreSQL)."""
    code, tier = shared.get((_SEEN_QR, qr_id)), shared.get((_SEEN_TIER, payer_id), _UNSEEN)
    if code is None or tier is _UNSEEN:
        return None
    return code, tier


_SEEN_QR, _SEEN_TIER, _SEEN_TERMS, _UNSEEN = "grouping.seen_qr", "grouping.seen_tier", "grouping.seen_terms", object()
_QR_SEEN_SQL = "SELECT id, merchant_id, kind, amount, status, expires_at FROM qr_codes WHERE id = ANY(%s)"
_MERCHANTS_SQL = "SELECT merchant_id FROM qr_codes WHERE id = ANY(%s)"


def p2p_locks(payer_id: str, payee_id: str) -> tuple[Hashable, ...]:
    return (("wallet", customer_wallet_id(payer_id)), ("wallet", customer_wallet_id(payee_id)))


def lock_wallets(uow: UnitOfWork, keys: set[Any]) -> None:
    """The batch's wallets, locked in id order: the payers', the payees' and the QR codes' merchants',
    whose ids the same statement reads from the codes (one statement a batch)."""
    wallets = {key[1] for key in keys if key[0] == "wallet"}
    qr_ids = sorted(key[1] for key in keys if key[0] == "qr")
    payers = sorted(key[1] for key in keys if key[0] == "payer")
    if not uow.postgres:  # SQLite has one writer: nothing to lock
        return
    merchants = ("SELECT %s || merchant_id FROM qr_codes WHERE id = ANY(%s)", (WALLET_PREFIX, qr_ids))
    along = (
        [(_QR_SEEN_SQL, (qr_ids,)), tiers_sql(payers), terms_sql(_MERCHANTS_SQL, (qr_ids,))]
        if qr_ids and payers
        else []
    )
    found = lock_accounts(uow, wallets, also=merchants if qr_ids else None, along=along)
    if along:
        codes, tiers, terms = found
        for qr_id, *code in codes:
            uow.shared[(_SEEN_QR, qr_id)] = QrSeen(*code)
        for payer_id, tier in tiers:
            uow.shared[(_SEEN_TIER, payer_id)] = WalletTier(tier) if tier is not None else None
        for merchant_id, status, fee_rate_bp in terms:
            uow.shared[(_SEEN_TERMS, merchant_id)] = (status, fee_rate_bp)


def job(work: Callable[[UnitOfWork], T], locks: tuple[Hashable, ...], **options: Any) -> Job[T]:
    if any(key[0] == "qr" for key in locks):  # type: ignore[index]
        options.setdefault("footprint", partial(qr_footprint, locks))
    return Job(work, locks=locks, locker=lock_wallets, **options)


def qr_footprint(locks: tuple[Hashable, ...], shared: dict[Any, Any]) -> frozenset[Hashable] | None:
    """What a QR payment reads and writes rows of: its payer (wallet, class, limits, keys), its code, and
    the code's merchant's wallet as its batch `seen` it. Every other row it writes is its own (the payment,
    its events, its audit) or a late credit. None (it does not run side by side) for a code not seen open
    and dynamic: only such a payment's statements are all foreseen (`service.pay_qr_guess`)."""
    qr_ids = [key[1] for key in locks if key[0] == "qr"]  # type: ignore[index]
    codes = [shared.get((_SEEN_QR, qr_id)) for qr_id in qr_ids]
    if not codes or any(code is None or not _open_and_priced(code) for code in codes):
        return None
    return frozenset((*locks, *(("wallet", WALLET_PREFIX + code.merchant_id) for code in codes if code)))


def commit(engine: Engine, work: Callable[[UnitOfWork], T], locks: tuple[Hashable, ...] = ()) -> T:
    """Run one payment's unit of work in the engine's next group commit and wait until it is durable."""
    return run(engine, work, locks=locks, locker=lock_wallets)


def _open_and_priced(code: QrSeen) -> bool:
    return code.kind == "dynamic" and code.status == "active" and code.amount is not None
