"""What other packages may read of payments (its tables are its own): the payments and posted bank
orders (top-ups 充值, withdrawals 提现) of a time range, as plain rows, for monitoring and reporting."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from puhui.payments.tables import bank_orders, payments


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
        .where(bank_orders.c.status == "posted", bank_orders.c.created_at >= start, bank_orders.c.created_at < end)
        .order_by(bank_orders.c.created_at, bank_orders.c.id)
    )
    return [dict(r) for r in rows.mappings()]


def any_between(connection: Connection, start: int, end: int) -> bool:
    """Whether any payment or bank order was made in [start, end)."""
    for table in (payments, bank_orders):
        found = connection.execute(
            select(table.c.id).where(table.c.created_at >= start, table.c.created_at < end).limit(1)
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
