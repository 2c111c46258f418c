"""What other packages may read of identity (its tables are its own): which parties are customers
(自然人) or merchants (非自然人), and who a party is for a regulatory report."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from puhui.identity import pii
from puhui.identity.tables import customers, merchants
from puhui.identity.vault import Vault


def party_types(connection: Connection, ids: Iterable[str]) -> dict[str, str]:
    """`natural` for customers, `non_natural` for merchants; parties of neither kind are left out."""
    wanted = list(ids)
    found = {
        i: "natural" for i in connection.execute(select(customers.c.id).where(customers.c.id.in_(wanted))).scalars()
    }
    found.update(
        {
            i: "non_natural"
            for i in connection.execute(select(merchants.c.id).where(merchants.c.id.in_(wanted))).scalars()
        }
    )
    return found


def customer_name_and_id(
    connection: Connection, customer_id: str, vault: Vault | None
) -> tuple[str | None, str | None] | None:
    """The customer's name and resident ID number in clear when `vault` can open them (else None each);
    None when there is no such customer. Callers mask them before they leave the platform."""
    row = (
        connection.execute(
            select(customers.c.name_sealed, customers.c.id_number_sealed).where(customers.c.id == customer_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    if vault is None:
        return None, None
    name = vault.open(row["name_sealed"], field=pii.FIELD_NAME, owner=customer_id) if row["name_sealed"] else None
    number = (
        vault.open(row["id_number_sealed"], field=pii.FIELD_ID_NUMBER, owner=customer_id)
        if row["id_number_sealed"]
        else None
    )
    return name, number


def merchant_name_and_code(connection: Connection, merchant_id: str) -> tuple[str, str] | None:
    """The merchant's trading name and unified social credit code (统一社会信用代码), or None."""
    row = connection.execute(
        select(merchants.c.name, merchants.c.credit_code).where(merchants.c.id == merchant_id)
    ).first()
    return (row[0], row[1]) if row is not None else None
