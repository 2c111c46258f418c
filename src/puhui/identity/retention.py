"""Anti-money-laundering retention (反洗钱 客户身份资料保存): when a customer closes the account, their
identity data leaves the customer record (no lookups, no views, blind indexes gone) but is kept,
still sealed, for `RETENTION_YEARS` after the relationship ends, as the AML law requires; then it
is erased by `purge_expired`. Transactions and the ledger are kept by their own rules.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.identity.tables import aml_retention, aml_retention_cards, bank_cards, customers

RETENTION_YEARS = 5


def retain_until(closed_at: int) -> int:
    closed = clock.from_micros(closed_at)
    try:
        until = closed.replace(year=closed.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        until = closed.replace(year=closed.year + RETENTION_YEARS, day=28) + dt.timedelta(days=1)
    return clock.to_micros(until)


def keep_for_aml(uow: UnitOfWork, customer_id: str, closed_at: int) -> None:
    """Move the sealed identity values of a closing customer into the retention tables."""
    row = (
        uow.execute(
            select(
                customers.c.name_sealed,
                customers.c.id_number_sealed,
                customers.c.phone_sealed,
                customers.c.address_sealed,
            ).where(customers.c.id == customer_id)
        )
        .mappings()
        .one()
    )
    until = retain_until(closed_at)
    uow.execute(
        aml_retention.insert().values(customer_id=customer_id, **dict(row), closed_at=closed_at, retain_until=until)
    )
    for card_id, sealed in uow.execute(
        select(bank_cards.c.id, bank_cards.c.card_sealed).where(
            bank_cards.c.customer_id == customer_id, bank_cards.c.card_sealed.is_not(None)
        )
    ).all():
        uow.execute(
            aml_retention_cards.insert().values(
                card_id=card_id, customer_id=customer_id, card_sealed=sealed, retain_until=until
            )
        )


def retained(connection: Connection, customer_id: str) -> dict | None:
    row = connection.execute(select(aml_retention).where(aml_retention.c.customer_id == customer_id)).mappings().first()
    return dict(row) if row else None


def purge_expired(uow: UnitOfWork) -> int:
    """Erase every retained record whose period is over; returns how many customers' data went."""
    now = clock.now_micros()
    uow.execute(aml_retention_cards.delete().where(aml_retention_cards.c.retain_until <= now))
    return uow.execute(aml_retention.delete().where(aml_retention.c.retain_until <= now)).rowcount
