"""What other packages may read of identity (its tables are its own): which parties are customers
(自然人) or merchants (非自然人), who a party is for a regulatory report, a customer's standing
(registration, wallet tier, verifications) as of a time for the feature store, whether a staff
handle exists and staff members' handles, and which active customer has a mobile number (by its blind
index, for paying someone by their phone)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from puhui.identity import pii
from puhui.identity.errors import InvalidPhone, VaultError
from puhui.identity.models import CustomerStatus, mask_name, normalize_phone
from puhui.identity.tables import customers, merchants, partners, staff, tier_changes, verifications
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


def partner_name(connection: Connection, partner_id: str) -> str | None:
    """A partner institution's registered name (合作机构名称: an insurer, a lender, a fund manager), or None."""
    return connection.execute(select(partners.c.name).where(partners.c.id == partner_id)).scalar_one_or_none()


@dataclass(frozen=True)
class Standing:
    """What identity knows of a customer as of a time: when they registered (注册, UTC micros), their
    wallet tier (账户等级, None before the first change) and how many verifications (实名核验) passed."""

    registered_at: int
    tier: int | None
    verifications: int


def standing_as_of(connection: Connection, customer_id: str, at: int) -> Standing | None:
    """The customer's standing from the rows with time <= `at`; None if not registered by then."""
    registered = connection.execute(select(customers.c.created_at).where(customers.c.id == customer_id)).scalar()
    if registered is None or registered > at:
        return None
    tier = connection.execute(
        select(tier_changes.c.to_tier)
        .where(tier_changes.c.customer_id == customer_id, tier_changes.c.at <= at)
        .order_by(tier_changes.c.seq.desc())
        .limit(1)
    ).scalar()
    passed = connection.execute(
        select(func.count())
        .select_from(verifications)
        .where(verifications.c.customer_id == customer_id, verifications.c.passed.is_(True), verifications.c.at <= at)
    ).scalar_one()
    return Standing(int(registered), tier, int(passed))


def standings_as_of(connection: Connection, at: int) -> dict[str, Standing]:
    """Every customer registered by `at` with their standing then: three set-based queries, whatever
    the number of customers."""
    registered = {
        cid: int(created)
        for cid, created in connection.execute(
            select(customers.c.id, customers.c.created_at).where(customers.c.created_at <= at)
        )
    }
    t = tier_changes.c
    latest = select(t.customer_id, func.max(t.seq).label("seq")).where(t.at <= at).group_by(t.customer_id).subquery()
    tiers: dict[str, int] = dict(
        connection.execute(
            select(t.customer_id, t.to_tier).join(
                latest, and_(latest.c.customer_id == t.customer_id, latest.c.seq == t.seq)
            )
        ).all()
    )
    v = verifications.c
    passed: dict[str, int] = dict(
        connection.execute(
            select(v.customer_id, func.count()).where(v.passed.is_(True), v.at <= at).group_by(v.customer_id)
        ).all()
    )
    return {cid: Standing(created, tiers.get(cid), int(passed.get(cid, 0))) for cid, created in registered.items()}


def known_customers(connection: Connection, ids: Iterable[str]) -> set[str]:
    """The ids among `ids` that are customers."""
    return set(connection.execute(select(customers.c.id).where(customers.c.id.in_(list(ids)))).scalars())


def staff_handle_taken(connection: Connection, handle: str) -> bool:
    """Whether a staff member (工作人员) has the handle."""
    found = connection.execute(select(func.count()).select_from(staff).where(staff.c.handle == handle)).scalar_one()
    return found > 0


def staff_role_by_handle(connection: Connection, handle: str) -> str | None:
    """The role of the active staff member with the handle (工号), or None when none has it (or they are disabled)."""
    return connection.execute(
        select(staff.c.role).where(staff.c.handle == handle, staff.c.disabled_at.is_(None))
    ).scalar_one_or_none()


def staff_handles(connection: Connection, ids: Iterable[str]) -> dict[str, str]:
    """The handle (e.g. `regulator.demo`) of each id that is a staff member; other ids are left out."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return dict(connection.execute(select(staff.c.id, staff.c.handle).where(staff.c.id.in_(wanted))).all())


def active_customer_by_phone(connection: Connection, vault: Vault, phone: str) -> str | None:
    """The id of the active customer whose mobile number is `phone` (spaces, dashes and +86 allowed), found
    by its keyed blind index under the current or a previous index key (the clear phone is never queried);
    None when no active customer has it or it is not a mainland mobile number."""
    try:
        number = normalize_phone(phone)
    except InvalidPhone:
        return None
    indexes = vault.blind_indexes(number, field=pii.INDEX_PHONE)
    found = connection.execute(
        select(customers.c.id).where(customers.c.phone_index.in_(indexes), customers.c.status == CustomerStatus.active)
    ).first()
    return None if found is None else str(found[0])


NAMES_CHUNK = 500
"""Ids per IN list of `party_names` (a page lists at most a few hundred)."""


def party_names(connection: Connection, vault: Vault | None, ids: Iterable[str]) -> dict[str, str]:
    """参与方名称: the name to show for each id that is a customer (masked; a closed one's pseudonym) or a
    merchant (in full), in two queries a chunk whatever the count (staff pages list many). A sealed name is
    opened only to mask it, as the masked customer view does. Ids of neither kind are left out, and so are
    customers' names the vault cannot open."""
    wanted = sorted({i for i in ids if i})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), NAMES_CHUNK):
        chunk = wanted[start : start + NAMES_CHUNK]
        c = customers.c
        rows = connection.execute(select(c.id, c.status, c.name_sealed, c.pseudonym).where(c.id.in_(chunk)))
        for row in rows.mappings():
            if row["status"] == "closed" or row["name_sealed"] is None:
                if row["pseudonym"]:
                    found[row["id"]] = row["pseudonym"]
                continue
            if vault is None:
                continue
            try:
                name = vault.open(row["name_sealed"], field=pii.FIELD_NAME, owner=row["id"])
            except VaultError:
                continue
            found[row["id"]] = mask_name(name)
        m = merchants.c
        for merchant_id, name in connection.execute(select(m.id, m.name).where(m.id.in_(chunk))).all():
            found[merchant_id] = name
    return found
