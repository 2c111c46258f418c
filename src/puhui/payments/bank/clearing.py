"""The reserve's clearing (备付金清算): the bank carries out what the ledger moved on the reserve account without
a bank order, netted per counterparty.

Customers' money reaches and leaves the reserve account (备付金账户) through bank orders: a two-phase hold, posted
by the bank's answer. Other flows book their cash leg straight against the reserve account, because that is where
the cash is in the books: the platform's own funds behind a loan or a financed receivable (`reserve.fund_reserve`,
from its own operating account), fund and money-market subscriptions and redemptions (the fund's custodian), an
insurer's claims funding and premium remittances (the insurer's account), a funding partner's share of a loan and
its payouts, the securities business's levies and dividends. Each is a real bank movement between the reserve
account and the counterparty's account; without one, the bank's reserve drifts from the ledger's.

`clear(engine, bank)` is one pass of the netting. Under the reserve account's lock (every reserve transfer holds it
to its commit, so none is missed), the reserve transfers booked after the last pass (`account_history`, ledger
order) that are plain ones (`clearable`: not a bank order's hold or its posting, not reconciliation's entries,
which follow the bank) are summed per counterparty: the transfer's other account. Each non-zero net becomes a bank
order, a `bank_orders` row with the `CLEARING_PREFIX` (kind `debit_card`: drawn on the counterparty's account into
the reserve; `credit_card`: paid out of the reserve to it), submitted after the commit like any order, and matched
against the statement by reconciliation like any order. Its `hold_transfer_id` names the last reserve transfer the
pass read (the next pass starts after it); it has no hold of its own, since its money moved in the ledger with its
flow, so the bank's answer only marks the row (`wallets.finish`). One the bank failed (say the reserve could not
pay it yet) is issued again, under the next id, by the first pass after its wait (a minute, doubling with each
failure, at most an hour); from its fifth failure on, each re-send is logged as an error.

A bank the platform aligned to its ledger (`worker.make_bank`, `worker.align_reserve`) keeps the ledger position it
was aligned at (`ledger_mark`): the movements up to it are in its balance already. A counterparty's account number
is derived from its ledger account (`account_number`, a sandbox number); a sandbox bank opens it, and an inflow's
money is put there first, as the counterparty's own, from outside the bank's books.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from puhui import clock
from puhui.db import UnitOfWork, transaction
from puhui.ledger.models import StoredTransfer, TransferFlags
from puhui.ledger.queries import lock_account
from puhui.ledger.service import account_history, get_transfers, recent_transfers
from puhui.payments import wallets
from puhui.payments.bank.channel import OrderKind
from puhui.payments.tables import bank_orders

log = logging.getLogger("puhui.payments.bank")
RESERVE = wallets.RESERVE
CLEARING_PREFIX = wallets.CLEARING_PREFIX
OWNER = "platform"  # the `customer_id` of a clearing order: the platform's own
FOLLOWS_BANK = frozenset({"reconciliation"})  # entries that book what the bank did already
TWO_PHASE = TransferFlags.pending | TransferFlags.post_pending | TransferFlags.void_pending
PAGE = 1000
RETRY_FIRST_SECONDS, RETRY_MOST_SECONDS = 60, 3600
TRIES_BEFORE_ALERT = 5  # from the fifth failure on, each re-send is logged as an error for the operators


def clearable(transfer: StoredTransfer) -> bool:
    """A reserve transfer the bank does not see by itself: a plain one (a bank order's is a hold the bank's answer
    posts), not one of reconciliation's (booked after the bank's statement)."""
    return not transfer.flags & TWO_PHASE and transfer.code not in FOLLOWS_BANK


def account_number(counterparty: str) -> str:
    """The counterparty's account at the bank, in the sandbox: 20 digits derived from its ledger account (a
    corporate account, 对公账户, never a card number), the same every time, so an order sent again goes there."""
    digest = int(hashlib.sha256(f"puhui-clearing\x00{counterparty}".encode()).hexdigest(), 16)
    return f"9{digest % 10**19:019d}"


def ledger_position(connection: Connection) -> int:
    """Where the reserve's ledger stands: the `seq` of its latest transfer other than a hold's posting or voiding
    (those only finish bank orders). Read with the reserve's balance, it is the `ledger_mark` of an aligned bank."""
    latest = recent_transfers(connection, RESERVE, limit=1)
    return (latest[0].seq or 0) if latest else 0


def clear(engine: Engine, bank: Any) -> list[dict]:
    """One pass: the reserve's movements since the last pass (or since the bank's `ledger_mark`), netted per
    counterparty, issued as bank orders, and the clearing orders the bank failed issued again; returns the
    orders sent (rows of `bank_orders`)."""
    mark = getattr(bank, "ledger_mark", None) or 0
    made = transaction(engine, lambda uow: _book(uow, mark))
    for row in sorted(made, key=lambda r: r["kind"] != OrderKind.debit_card.value):  # money in before money out
        _send(engine, bank, row)
    if made:
        log.info("reserve clearing: %d bank order(s) for the reserve's movements without one", len(made))
    return made


_nothing_owed: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
"""Per engine, a ledger position up to which a pass found nothing to send (in memory only: it spares the next pass
reading the day's top-ups again; another process, or a restart, reads them once more)."""


def _book(uow: UnitOfWork, mark: int) -> list[dict]:
    lock_account(uow, RESERVE)
    engine = uow.connection.engine
    since = max(mark, _cleared_through(uow.connection), _nothing_owed.get(engine, 0))
    nets, last = _movements(uow.connection, since)
    made = [] if last is None else [_open(uow, cp, net, last.id) for cp, net in sorted(nets.items()) if net]
    if last is not None and not made:
        _nothing_owed[engine] = last.seq or since
    return made + _reissue(uow)


def _movements(connection: Connection, after: int) -> tuple[dict[str, int], StoredTransfer | None]:
    """Per counterparty, what the reserve's clearable transfers after `after` moved (fen; > 0: into the reserve),
    and the last reserve transfer read."""
    nets: dict[str, int] = {}
    last = None
    while page := account_history(connection, RESERVE, after_seq=after, limit=PAGE):
        for t in filter(clearable, page):
            into = t.debit_account_id == RESERVE
            other = t.credit_account_id if into else t.debit_account_id
            nets[other] = nets.get(other, 0) + (t.amount if into else -t.amount)
        last = page[-1]
        after = last.seq or after
        if len(page) < PAGE:
            break
    return nets, last


def _first_issues():
    b = bank_orders.c
    return b.id.startswith(CLEARING_PREFIX, autoescape=True) & ~b.id.contains(".", autoescape=True)


def _cleared_through(connection: Connection) -> int:
    """The ledger position the latest pass read to (0: none yet)."""
    b = bank_orders.c
    latest = select(func.max(b.created_at)).where(_first_issues()).scalar_subquery()
    ids = connection.execute(select(b.hold_transfer_id).where(_first_issues(), b.created_at == latest)).scalars()
    return max((t.seq or 0 for t in get_transfers(connection, set(ids)).values()), default=0)


def _open(uow: UnitOfWork, counterparty: str, net: int, through: str) -> dict:
    digest = hashlib.sha256(f"{counterparty}\x1f{through}".encode()).hexdigest()[:32]
    kind = OrderKind.debit_card if net > 0 else OrderKind.credit_card
    return _insert(uow, CLEARING_PREFIX + digest, kind.value, counterparty, abs(net), through)


def _insert(uow: UnitOfWork, order_id: str, kind: str, counterparty: str, amount: int, through: str) -> dict:
    row = {
        "id": order_id,
        "kind": kind,
        "customer_id": OWNER,
        "card_id": counterparty,
        "amount": amount,
        "hold_transfer_id": through,
        "status": "pending",
        "failure_reason": None,
        "bank_reference": None,
        "created_at": clock.now_micros(),
        "resolved_at": None,
    }
    uow.execute(bank_orders.insert().values(**row))
    return row


def _next_id(order_id: str) -> str:
    base, _, tries = order_id.partition(".")
    return f"{base}.{int(tries or 0) + 1}"


def retry_wait_seconds(sent: int) -> int:
    """How long after its failure a clearing order sent `sent` times is sent again: a minute, doubling each time,
    at most an hour (a bank that keeps failing it is not asked every pass, every few seconds)."""
    return min(RETRY_FIRST_SECONDS * 2 ** (sent - 1), RETRY_MOST_SECONDS)


def _times_sent(order_id: str) -> int:
    return int(order_id.partition(".")[2] or 0) + 1


def _reissue(uow: UnitOfWork) -> list[dict]:
    """Each failed clearing order issued again once its wait is over (`retry_wait_seconds`), under the next id
    (`rc_….1`, `rc_….2`, …)."""
    b = bank_orders.c
    clearing = b.id.startswith(CLEARING_PREFIX, autoescape=True)
    failed = [dict(r) for r in uow.execute(select(bank_orders).where(clearing, b.status == "voided")).mappings()]
    now = clock.now_micros()
    due = [r for r in failed if (r["resolved_at"] or 0) + retry_wait_seconds(_times_sent(r["id"])) * 1_000_000 <= now]
    wanted = {_next_id(r["id"]): r for r in due}
    taken = set(uow.execute(select(b.id).where(b.id.in_(list(wanted)))).scalars()) if wanted else set()
    again = [(order_id, r) for order_id, r in sorted(wanted.items()) if order_id not in taken]
    for _, r in again:
        if _times_sent(r["id"]) >= TRIES_BEFORE_ALERT:
            log.error(
                "reserve clearing: order %s failed %d times (%s); the bank's reserve differs from the ledger by %s fen "
                "until it clears",
                r["id"].partition(".")[0],
                _times_sent(r["id"]),
                r["failure_reason"],
                r["amount"],
            )
    return [
        _insert(uow, order_id, r["kind"], r["card_id"], r["amount"], r["hold_transfer_id"]) for order_id, r in again
    ]


def _send(engine: Engine, bank: Any, row: dict) -> None:
    """Submit one clearing order; at a sandbox bank, the counterparty's account is opened first, with an inflow's
    money on it."""
    number = account_number(row["card_id"])
    open_account = getattr(bank, "open_card", None)
    if open_account is not None:
        open_account(number, row["amount"] if row["kind"] == OrderKind.debit_card.value else 0)
    wallets.submit(bank, row["id"], number, OrderKind(row["kind"]), row["amount"], engine, account=True)


def with_counterparties(cards: wallets.CardLookup | None) -> wallets.CardLookup | None:
    """`cards` (for the sweeper's resubmissions) that also knows the counterparties' accounts of clearing orders."""
    if cards is None:
        return None
    known = cards

    def lookup(owner_id: str, card_id: str) -> str:
        return account_number(card_id) if owner_id == OWNER else known(owner_id, card_id)

    return lookup
