"""What other packages may read of payments (its tables are its own): the payments and posted bank
orders (top-ups 充值, withdrawals 提现) of a time range, as plain rows, for monitoring and reporting;
and, for the feature store's set-based SQL, subqueries of payments, refunds and answered bank orders."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Subquery, func, select, true

from puhui.payments.tables import bank_orders, payments, refunds
from puhui.payments.wallets import CLEARING_PREFIX

# a customer's or merchant's bank order, not the reserve's clearing with the platform's counterparties
CUSTOMERS_ORDER = ~bank_orders.c.id.startswith(CLEARING_PREFIX, autoescape=True)


def payments_between(connection: Connection, start: int, end: int) -> list[dict]:
    """Every payment made in [start, end) (UTC microseconds), oldest first."""
    rows = connection.execute(
        select(payments)
        .where(payments.c.created_at >= start, payments.c.created_at < end)
        .order_by(payments.c.created_at, payments.c.id)
    )
    return [dict(r) for r in rows.mappings()]


def posted_bank_orders_between(connection: Connection, start: int, end: int) -> list[dict]:
    """Every bank order (top-up or withdrawal) opened in [start, end) that the bank completed."""
    rows = connection.execute(
        select(bank_orders)
        .where(
            bank_orders.c.status == "posted",
            bank_orders.c.created_at >= start,
            bank_orders.c.created_at < end,
            CUSTOMERS_ORDER,
        )
        .order_by(bank_orders.c.created_at, bank_orders.c.id)
    )
    return [dict(r) for r in rows.mappings()]


def any_between(connection: Connection, start: int, end: int) -> bool:
    """Whether any payment or bank order was made in [start, end)."""
    for table, whose in ((payments, true()), (bank_orders, CUSTOMERS_ORDER)):
        found = connection.execute(
            select(table.c.id).where(table.c.created_at >= start, table.c.created_at < end, whose).limit(1)
        ).first()
        if found is not None:
            return True
    return False


def volume_between(connection: Connection, start: int, end: int) -> tuple[int, int]:
    """(how many, Σ amount in fen) of the payments made in [start, end)."""
    count, total = connection.execute(
        select(func.count(), func.coalesce(func.sum(payments.c.amount), 0)).where(
            payments.c.created_at >= start, payments.c.created_at < end
        )
    ).one()
    return int(count), int(total)


def volume_by_payee(connection: Connection, start: int, end: int, kind: str | None = None) -> dict[str, int]:
    """Σ amount (fen) received per payee in [start, end); only payments of `kind` when given (`qr`:
    paid to merchants, `p2p`: to customers)."""
    query = (
        select(payments.c.payee_id, func.sum(payments.c.amount))
        .where(payments.c.created_at >= start, payments.c.created_at < end)
        .group_by(payments.c.payee_id)
    )
    if kind is not None:
        query = query.where(payments.c.kind == kind)
    return {payee: int(total) for payee, total in connection.execute(query)}


# -- rows for the feature store's set-based SQL (用户画像) ----------------------------------------
# Each returns a subquery over payments' own tables with the columns its docstring names, for
# a caller that aggregates per customer inside SQL; bounds are UTC microseconds, None for open.

RESOLVED = ("posted", "voided")  # a bank order the bank answered: completed or voided (作废)


def _within(column: ColumnElement[int], after: int | None, until: int | None) -> list[ColumnElement[bool]]:
    bounds = [] if after is None else [column > after]
    return bounds if until is None else [*bounds, column <= until]


def payments_made(after: int | None = None, until: int | None = None) -> Subquery:
    """Payments made in (after, until]: id, kind (`p2p` | `qr`), payer_id, payee_id, amount (fen),
    created_at, device_id and location (the payer's, as the client reported them)."""
    p = payments.c
    return (
        select(p.id, p.kind, p.payer_id, p.payee_id, p.amount, p.created_at, p.device_id, p.location)
        .where(*_within(p.created_at, after, until))
        .subquery("payments_made")
    )


def refunds_made(after: int | None = None, until: int | None = None) -> Subquery:
    """Refunds (退款) made in (after, until]: id, payer_id (who paid the refunded payment and gets the
    money back), amount (fen), created_at."""
    r = refunds.c
    return (
        select(r.id, payments.c.payer_id, r.amount, r.created_at)
        .select_from(refunds.join(payments, payments.c.id == r.payment_id))
        .where(*_within(r.created_at, after, until))
        .subquery("refunds_made")
    )


def resolved_bank_orders(after: int | None = None, until: int | None = None) -> Subquery:
    """Bank orders the bank answered (`posted` or `voided`) in (after, until]: id, customer_id, kind
    (`debit_card`: top-up 充值, `credit_card`: withdrawal 提现), status, amount (fen), resolved_at."""
    b = bank_orders.c
    return (
        select(b.id, b.customer_id, b.kind, b.status, b.amount, b.resolved_at)
        .where(b.status.in_(RESOLVED), CUSTOMERS_ORDER, *_within(b.resolved_at, after, until))
        .subquery("resolved_bank_orders")
    )
