"""T+1 merchant settlement (商户结算): pay each merchant what its wallet earned on business date D.

For each merchant: gross QR payments made on D (China time) minus their fees, minus refunds made
on D net of the fee returned, plus the other money paid into the wallet on D for the merchant to
receive (`OTHER_PAYOUTS`: a supply-chain advance, a receivable paid at maturity). A refund later than
D reduces the settlement of the day it happened; the payout is capped by the wallet's available
balance, so it never makes the wallet negative.

A refund larger than the wallet's balance (its takings already paid out) is paid with the merchant's
refund funds (退款资金), which it tops up from its bank account (`wallets.open_merchant_top_up`): only
the part the wallet lacks moves into the wallet (`OFFSETS`), so the day nets to nothing rather than
to a shortfall held back from later takings, and the refund funds themselves are never paid out.

Money moves only through the ledger, with the two-phase pattern of `payments.wallets`: one unit
of work writes a pending hold merchant wallet → reserve, a `bank_orders` row (kind credit_card,
customer_id = the merchant) and the settlement row; after commit the payout is submitted; the
bank's outcome posts or voids the hold exactly once through `wallets.finish`. The settlement row
is unique per (merchant, date), so settling a date again moves nothing. Which dates may be settled
is the rule of every end of day (`puhui.eod.runs`, T+1): only dates that are over, none skipped
before the last date settled, and the dates of a gap one by one, in order.

Each date pays its own net takings, and what earlier dates still owe: a payout of an earlier date still
pending at the bank holds only that date's money (counted as paid while pending, `_due`), so the dates after
it, settled in the same catch-up or later, pay theirs. A date that pays nothing while the merchant still has
earlier earnings not at its bank account (a payout pending at the bank, or owed money its wallet cannot cover
now) is `waiting`, not `nothing`; every answer tells that amount (`unpaid`), and a failed payout tells the
bank's reason and the date whose settlement pays it again (`explain`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from sqlalchemy import Connection, Engine, and_, func, or_, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.eod import runs as eod_runs
from puhui.errors import InvalidInput
from puhui.identity import org
from puhui.identity.service import merchant_wallet_id
from puhui.ledger.models import Transfer, TransferFlags
from puhui.ledger.queries import available_as_of, credits_posted_between
from puhui.ledger.service import get_account, post_chain
from puhui.payments import wallets
from puhui.payments.bank.channel import OrderKind
from puhui.payments.settlement_tables import settlements
from puhui.payments.tables import bank_orders, payments, refunds

RESERVE = wallets.RESERVE
JOB = "settlement"  # its dates in `eod_runs`
SETTLEMENT_CARD_ID = wallets.SETTLEMENT_CARD_ID
CardOf = Callable[[Connection, str], str]
OTHER_PAYOUTS = {
    "scf_advance": "a supply-chain financing advance (保理融资款), `puhui.supplychain`",
    "scf_payment": "a receivable the core enterprise paid at maturity, not financed (应收账款兑付)",
}
"""Ledger codes of money paid into a merchant's wallet, besides acquiring, that its settlement pays out
to its bank account: a merchant wallet has no withdrawal of its own. A merchant's top-up (商户充值,
`wallets.MERCHANT_TOP_UP`) is not one: it goes to the merchant's refund funds, never to the wallet."""
OFFSETS = {
    wallets.REFUND_FUNDING: "the merchant's refund funds (退款资金) moved into its wallet to pay a refund its balance "
    "could not: it offsets that refund, so the refund is not taken again from later takings",
}
"""Ledger codes of money into a merchant's wallet that settlement counts with the other credits: each only
ever covers what the wallet lacked for a refund, so it offsets that refund and nothing of it is paid out."""
MAX_RANGE_DAYS = 92
"""The most business dates one read of settlements spans (`settlements_between`), a quarter: every row read
is explained (`explain`) with queries of its own, so a read is bounded by its dates, not only by a limit."""


class SettlementRangeInvalid(InvalidInput):
    code = "settlement_range_invalid"
    title = f"A range of settlements runs from a date to the same or a later one, at most {MAX_RANGE_DAYS} dates"


def settlement_order_id(merchant_id: str, business_date: dt.date) -> str:
    digest = hashlib.sha256(f"{merchant_id}\x1f{business_date.isoformat()}".encode()).hexdigest()[:32]
    return "st_" + digest


def earnings(
    connection: Connection, merchant_id: str, business_date: dt.date, *, since_opening: bool = False
) -> dict[str, int]:
    """gross, fees, refunds (net of fee returned), other credits (`OTHER_PAYOUTS`, and the refund funds that
    paid refunds, `OFFSETS`) and net for one merchant on one date (fen), or on every date up to and including
    it (`since_opening`)."""
    start, end = clock.day_bounds(business_date)
    if since_opening:
        start = 0
    gross, fees = connection.execute(
        select(func.coalesce(func.sum(payments.c.amount), 0), func.coalesce(func.sum(payments.c.fee), 0)).where(
            payments.c.payee_id == merchant_id,
            payments.c.kind == "qr",
            payments.c.created_at >= start,
            payments.c.created_at < end,
        )
    ).one()
    refunded, fee_back = connection.execute(
        select(func.coalesce(func.sum(refunds.c.amount), 0), func.coalesce(func.sum(refunds.c.fee_returned), 0))
        .select_from(refunds.join(payments, payments.c.id == refunds.c.payment_id))
        .where(payments.c.payee_id == merchant_id, refunds.c.created_at >= start, refunds.c.created_at < end)
    ).one()
    gross, fees, refunded, fee_back = int(gross), int(fees), int(refunded), int(fee_back)
    net_refunds = refunded - fee_back
    other = credits_posted_between(connection, merchant_wallet_id(merchant_id), {*OTHER_PAYOUTS, *OFFSETS}, start, end)
    return {
        "gross": gross,
        "fees": fees,
        "refunds": net_refunds,
        "other_credits": other,
        "net": gross - fees - net_refunds + other,
    }


def _due(connection: Connection, merchant_id: str, business_date: dt.date) -> int:
    """What the merchant has earned up to the end of the date and not yet been paid: a failed
    payout is paid again with the next settlement, and a day whose refunds exceed its takings
    (negative net) is carried forward against the next ones."""
    earned = earnings(connection, merchant_id, business_date, since_opening=True)["net"]
    paid = connection.execute(
        select(func.coalesce(func.sum(settlements.c.net), 0)).where(
            settlements.c.merchant_id == merchant_id, settlements.c.state.in_(("pending", "paid"))
        )
    ).scalar_one()
    return earned - int(paid)


def vault_cards(vault) -> CardOf:
    """The merchant's settlement account number in clear, from the PII vault."""
    from puhui.identity.org import settlement_account

    return lambda connection, merchant_id: settlement_account(connection, vault, merchant_id)[0]


def _open(uow: UnitOfWork, merchant_id: str, business_date: dt.date) -> dict:
    existing = (
        uow.execute(
            select(settlements).where(
                and_(settlements.c.merchant_id == merchant_id, settlements.c.business_date == business_date.isoformat())
            )
        )
        .mappings()
        .first()
    )
    if existing is not None:
        return dict(existing)
    figures = earnings(uow.connection, merchant_id, business_date)
    wallet = merchant_wallet_id(merchant_id)
    available = _available(uow.connection, merchant_id, business_date)
    due = _due(uow.connection, merchant_id, business_date)
    amount = max(0, min(due, available))
    order_id = settlement_order_id(merchant_id, business_date) if amount > 0 else None
    now = clock.now_micros()
    if order_id is not None:
        hold = order_id + ".hold"
        post_chain(
            uow,
            [Transfer(hold, wallet, RESERVE, amount, "CNY", "settlement", TransferFlags.pending)],
            what=f"the settlement hold for {merchant_id} cannot be covered",
        )
        uow.execute(
            bank_orders.insert().values(
                id=order_id,
                kind=OrderKind.credit_card.value,
                customer_id=merchant_id,
                card_id=SETTLEMENT_CARD_ID,
                amount=amount,
                hold_transfer_id=hold,
                status="pending",
                failure_reason=None,
                bank_reference=None,
                created_at=now,
                resolved_at=None,
            )
        )
    row = {
        "id": "stl_" + hashlib.sha256(f"{merchant_id}\x1f{business_date}".encode()).hexdigest()[:32],
        "merchant_id": merchant_id,
        "business_date": business_date.isoformat(),
        **figures,
        "net": amount,
        "order_id": order_id,
        "state": "pending" if order_id else _nothing_paid(uow.connection, merchant_id, business_date, due),
        "created_at": now,
        "resolved_at": None,
    }
    uow.execute(settlements.insert().values(**row))
    return row


def _available(connection: Connection, merchant_id: str, business_date: dt.date) -> int:
    """What the wallet can pay for the date: its available balance as of the date's end (`available_as_of`), what
    a run on time would have seen, so a late run pays the same: money that came in after the end (a payout
    failed later, its hold voided) waits for a later date, as it would have; the payouts of earlier dates made
    after the end (a catch-up's), held then on time, are held here too. And never more than the wallet holds
    now: a hold must be covered, so when refunds of later dates took the date's unpaid money (on time they
    would have been refused or drawn on the refund funds) the date pays what is left, and the rest of what it
    earned offsets those later refunds (`_due`)."""
    wallet = merchant_wallet_id(merchant_id)
    end = clock.day_bounds(business_date)[1]
    held_since = connection.execute(
        select(func.coalesce(func.sum(settlements.c.net), 0)).where(
            settlements.c.merchant_id == merchant_id,
            settlements.c.business_date < business_date.isoformat(),
            settlements.c.created_at >= end,
            settlements.c.state.in_(("pending", "paid")),
        )
    ).scalar_one()
    then = available_as_of(connection, [wallet], end - 1)[wallet] - int(held_since)
    account = get_account(connection, wallet)
    now = 0 if account is None else account.credits_posted - account.debits_posted - account.debits_pending
    return min(then, now)


def _nothing_paid(connection: Connection, merchant_id: str, business_date: dt.date, due: int) -> str:
    """The state of a date whose settlement pays nothing: `waiting` while the merchant still has earnings of
    earlier dates not at its bank account (an earlier payout pending at the bank, or what is owed and its
    wallet could not cover now, carried to the next date); `nothing` when nothing at all is owed."""
    if due > 0:
        return "waiting"
    earlier_pending = connection.execute(
        select(settlements.c.id)
        .select_from(settlements.join(bank_orders, bank_orders.c.id == settlements.c.order_id))
        .where(
            settlements.c.merchant_id == merchant_id,
            settlements.c.business_date < business_date.isoformat(),
            bank_orders.c.status == "pending",  # the row's own state follows at the end of the run (`sync`)
        )
        .limit(1)
    ).first()
    return "waiting" if earlier_pending is not None else "nothing"


def unpaid(connection: Connection, merchant_id: str, business_date: dt.date) -> int:
    """What of the merchant's earnings up to the end of the date has not reached its bank account, as of now
    (fen): its payouts still pending at the bank, failed ones not yet paid again, and what its wallet could not
    cover. Payouts pay what is owed oldest first, so every payout made, of any date, counts against it."""
    earned = earnings(connection, merchant_id, business_date, since_opening=True)["net"]
    paid = connection.execute(
        select(func.coalesce(func.sum(settlements.c.net), 0)).where(
            settlements.c.merchant_id == merchant_id, settlements.c.state == "paid"
        )
    ).scalar_one()
    return max(0, earned - int(paid))


def retried_on(connection: Connection, row: dict) -> dt.date | None:
    """For a failed payout, the business date whose settlement pays its amount again: the first date of the
    merchant settled after the payout failed (what is owed and unpaid is paid with the next settlement, `_due`)
    whose end did not find the money held (a date pays from what the wallet had at its end, `_available`: not
    a date from the one the hold was made on to the one before it failed), or, before one is, the next such
    date after the merchant's last one settled. None when the payout did not fail, or its merchant is not
    active (an inactive merchant is not settled until it is again)."""
    if row["state"] != "failed" or row["resolved_at"] is None:
        return None
    held_on, failed_on = clock.china_date(row["created_at"]).isoformat(), clock.china_date(row["resolved_at"])
    later = connection.execute(
        select(func.min(settlements.c.business_date)).where(
            settlements.c.merchant_id == row["merchant_id"],
            settlements.c.business_date > row["business_date"],
            settlements.c.created_at >= row["resolved_at"],
            or_(settlements.c.business_date < held_on, settlements.c.business_date >= failed_on.isoformat()),
        )
    ).scalar()
    if later is not None:
        return dt.date.fromisoformat(later)
    if not org.merchant_is_active(connection, row["merchant_id"]):
        return None
    last = connection.execute(
        select(func.max(settlements.c.business_date)).where(settlements.c.merchant_id == row["merchant_id"])
    ).scalar_one()
    following = dt.date.fromisoformat(last) + dt.timedelta(days=1)
    return failed_on if held_on <= following.isoformat() < failed_on.isoformat() else following


def explain(connection: Connection, rows: list[dict]) -> list[dict]:
    """The settlement rows with what their answer tells besides their columns: `failure_reason` (the bank's,
    from the payout's order, for a failed one), `retried_on` (`retried_on`) and `unpaid` (`unpaid`, fen)."""
    orders = [r["order_id"] for r in rows if r["state"] == "failed" and r["order_id"]]
    reasons: dict[str, str | None] = {}
    if orders:
        found = select(bank_orders.c.id, bank_orders.c.failure_reason).where(bank_orders.c.id.in_(orders))
        reasons = {order_id: reason for order_id, reason in connection.execute(found).all()}
    return [
        {
            **row,
            "failure_reason": reasons.get(row["order_id"]) if row["state"] == "failed" else None,
            "retried_on": retried_on(connection, row),
            "unpaid": unpaid(connection, row["merchant_id"], dt.date.fromisoformat(row["business_date"])),
        }
        for row in rows
    ]


def sync(engine: Engine, bank=None) -> int:
    """Finish pending payouts the bank has decided (with `bank`), then copy order outcomes onto
    the settlement rows. Returns how many settlement rows changed state."""
    if bank is not None:
        wallets.recover_pending_orders(engine, bank)

    def work(uow: UnitOfWork) -> int:
        rows = uow.execute(
            select(settlements.c.id, bank_orders.c.status, bank_orders.c.resolved_at)
            .select_from(settlements.join(bank_orders, bank_orders.c.id == settlements.c.order_id))
            .where(settlements.c.state == "pending", bank_orders.c.status != "pending")
        ).all()
        for sid, status, resolved_at in rows:
            uow.execute(
                settlements.update()
                .where(settlements.c.id == sid)
                .values(state="paid" if status == "posted" else "failed", resolved_at=resolved_at)
            )
        return len(rows)

    return transaction(engine, work)


def settle(engine: Engine, bank, business_date: dt.date, *, card_of: CardOf | None = None, vault=None) -> list[dict]:
    """Settle every active merchant for `business_date`; idempotent per (merchant, date).

    `card_of(connection, merchant_id)` gives the payout card; by default the settlement account
    from the PII vault (`vault` required then). Returns the settlement rows of the date.
    """
    return settle_days(engine, bank, business_date, card_of=card_of, vault=vault).result


def settle_days(
    engine: Engine, bank, business_date: dt.date, *, card_of: CardOf | None = None, vault=None
) -> eod_runs.Run[list[dict]]:
    """`settle` under the rule of every end of day (`puhui.eod.runs`), T+1: the date must be over
    and not skipped before the last date settled; the dates of a gap are settled first, in order,
    each with its own payout. A date already settled runs again: pending payouts are resubmitted
    (the bank treats them as one order) and nothing is paid twice. Without a `bank` (None: a command
    with no bank of the server's to reach) the payouts are opened and held but not sent: never to a
    bank that is not the server's; the server's bank worker sends them (its sweeper submits an order
    the bank never got)."""
    if card_of is None and vault is None:
        raise ValueError("settle needs a vault or card_of to find the settlement accounts")
    cards = card_of if card_of is not None else vault_cards(vault)
    return eod_runs.run_days(engine, JOB, business_date, lambda day: _settle_day(engine, bank, day, cards))


def _settle_day(engine: Engine, bank, business_date: dt.date, card_of: CardOf) -> list[dict]:
    with reading(engine) as connection:
        ids = org.active_merchant_ids(connection)
    for merchant_id in ids:
        row = transaction(engine, lambda uow, m=merchant_id: _open(uow, m, business_date))
        if row["state"] != "pending":
            continue
        with reading(engine) as connection:
            order = connection.execute(
                select(bank_orders.c.status).where(bank_orders.c.id == row["order_id"])
            ).scalar_one()
            card = card_of(connection, merchant_id) if order == "pending" and bank is not None else None
        if card is not None:  # the bank treats a resubmission of the same order as one order
            wallets.submit(bank, row["order_id"], card, OrderKind.credit_card, row["net"], engine, account=True)
    sync(engine, bank)
    return settlements_of(engine, business_date)


def settlements_of(engine: Engine, business_date: dt.date) -> list[dict]:
    with reading(engine) as connection:
        return settlements_between(connection, business_date, business_date)


def check_range(first: dt.date, last: dt.date) -> None:
    """A range of business dates runs forward and spans at most `MAX_RANGE_DAYS` dates, both ends included."""
    if last < first:
        raise SettlementRangeInvalid(f"to {last} is before from {first}", max_days=MAX_RANGE_DAYS)
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise SettlementRangeInvalid(
            f"from {first} to {last} spans {days} business dates; at most {MAX_RANGE_DAYS}", max_days=MAX_RANGE_DAYS
        )


def settlements_between(
    connection: Connection,
    first: dt.date,
    last: dt.date,
    *,
    merchant_id: str | None = None,
    limit: int | None = None,
) -> list[dict]:
    """The settlement rows of the business dates `first` to `last`, both included (`check_range`): the newest
    date first, by merchant within a date; only `merchant_id`'s when named; at most `limit` of them, the
    newest. One query for a whole range, so a merchant's recent settlements are one read, not one per date."""
    check_range(first, last)
    query = select(settlements).where(
        settlements.c.business_date >= first.isoformat(), settlements.c.business_date <= last.isoformat()
    )
    if merchant_id is not None:
        query = query.where(settlements.c.merchant_id == merchant_id)
    query = query.order_by(settlements.c.business_date.desc(), settlements.c.merchant_id)
    if limit is not None:
        query = query.limit(limit)
    return [dict(r) for r in connection.execute(query).mappings()]
