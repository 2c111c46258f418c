"""Customers (个人客户): real-name registration, bank cards, reading (masked or clear), closure.

Every operation runs in the caller's unit of work. Registration opens the customer's ledger wallet
(`wallet.<customer id>`, debits must not exceed credits) in the same transaction. Password hashing
is slow on purpose, so it happens in `prepare_registration`, before any transaction starts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, or_, select, update
from stdnum.cn import ric

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events import outbox
from puhui.identity import auth, closing, pii, retention
from puhui.identity.errors import (
    AccountHasHoldings,
    AlreadyRegistered,
    CardAlreadyBound,
    CustomerClosed,
    CustomerNotFound,
    PhoneTaken,
    RegistrationRefused,
    WalletNotEmpty,
)
from puhui.identity.models import (
    Actor,
    CustomerStatus,
    check_adult,
    check_password,
    normalize_address,
    normalize_card_number,
    normalize_id_number,
    normalize_name,
    normalize_phone,
)
from puhui.identity.tables import bank_cards, customers
from puhui.identity.vault import Vault
from puhui.ledger import service as ledger
from puhui.ledger.models import AccountFlags

TOPIC = "identity"
INDEX_ID_NUMBER, INDEX_PHONE, INDEX_CARD = pii.INDEX_ID_NUMBER, pii.INDEX_PHONE, pii.INDEX_CARD


def wallet_id(customer_id: str) -> str:
    return f"wallet.{customer_id}"


@dataclass(frozen=True, repr=False)
class Registration:
    """Checked, normalised registration data (repr hides it: it is personal information)."""

    name: str
    id_number: str
    phone: str
    address: str | None
    password_hash: str


def prepare_registration(
    *, name: str, id_number: str, phone: str, password: str, address: str | None = None, min_age: int = 18
) -> Registration:
    """Check every field (GB 11643 ID, an adult by the birth date in it, phone, name, address, password
    policy) and hash the password."""
    number = normalize_id_number(id_number)
    check_adult(number, min_age, clock.business_date())
    return Registration(
        name=normalize_name(name),
        id_number=number,
        phone=normalize_phone(phone),
        address=normalize_address(address) if address is not None else None,
        password_hash=auth.hash_password(check_password(password)),
    )


def register(uow: UnitOfWork, vault: Vault, data: Registration, *, say_which: bool = True) -> str:
    """Open a customer (开户) with a wallet; one person, one customer; one phone, one customer. A taken
    person or phone is named only when `say_which` (staff at the counter); a self sign-up is refused
    without saying which, so it cannot probe who is a customer."""
    id_index = vault.blind_index(data.id_number, field=INDEX_ID_NUMBER)
    phone_index = vault.blind_index(data.phone, field=INDEX_PHONE)
    ids = vault.blind_indexes(data.id_number, field=INDEX_ID_NUMBER)
    phones = vault.blind_indexes(data.phone, field=INDEX_PHONE)
    # one statement, one snapshot: a racing sign-up of the same person is always "already registered"
    taken = (
        uow.execute(
            select(customers.c.id_number_index).where(
                or_(customers.c.id_number_index.in_(ids), customers.c.phone_index.in_(phones))
            )
        )
        .scalars()
        .all()
    )
    if taken and not say_which:
        raise RegistrationRefused("if you already have an account, log in instead")
    if any(index in ids for index in taken):
        raise AlreadyRegistered()
    if taken:
        raise PhoneTaken()
    customer_id = f"cus_{secrets.token_hex(8)}"
    ledger.create_account(
        uow,
        ledger="CNY",
        code="customer_wallet",
        owner_id=customer_id,
        flags=AccountFlags.debits_must_not_exceed_credits,
        id=wallet_id(customer_id),
    )

    def seal(value: str | None, field: str) -> str | None:
        return vault.seal(value, field=field, owner=customer_id) if value is not None else None

    uow.execute(
        customers.insert().values(
            id=customer_id,
            status=CustomerStatus.active.value,
            tier=None,
            name_sealed=seal(data.name, pii.FIELD_NAME),
            id_number_sealed=seal(data.id_number, pii.FIELD_ID_NUMBER),
            id_number_index=id_index,
            phone_sealed=seal(data.phone, pii.FIELD_PHONE),
            phone_index=phone_index,
            address_sealed=seal(data.address, pii.FIELD_ADDRESS),
            password_hash=data.password_hash,
            wallet_account_id=wallet_id(customer_id),
            created_at=clock.now_micros(),
        )
    )
    outbox.publish(uow, TOPIC, "identity.customer_registered", customer_id, {"id": customer_id})
    return customer_id


def get_row(connection: Connection, customer_id: str, *, lock: bool = False) -> dict:
    query = select(customers).where(customers.c.id == customer_id)
    row = connection.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise CustomerNotFound(f"customer {customer_id!r} does not exist")
    return dict(row)


def require_active(connection: Connection, customer_id: str, *, lock: bool = False) -> dict:
    row = get_row(connection, customer_id, lock=lock)
    if row["status"] != CustomerStatus.active:
        raise CustomerClosed()
    return row


def is_active(connection: Connection, customer_id: str) -> bool:
    found = connection.execute(select(customers.c.status).where(customers.c.id == customer_id)).first()
    return found is not None and found[0] == CustomerStatus.active


def find_by_phone(connection: Connection, vault: Vault, phone: str) -> dict | None:
    """The active customer with this phone, by blind index (the clear phone is never queried)."""
    indexes = vault.blind_indexes(phone, field=INDEX_PHONE)
    row = connection.execute(select(customers).where(customers.c.phone_index.in_(indexes))).mappings().first()
    return dict(row) if row else None


def password_of(connection, customer_id: str) -> dict | None:
    """The customer's status, password hash and phone index (for checking a password again), or None."""
    row = (
        connection.execute(
            select(customers.c.status, customers.c.password_hash, customers.c.phone_index).where(
                customers.c.id == customer_id
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def set_password_hash(uow: UnitOfWork, customer_id: str, password_hash: str) -> None:
    uow.execute(update(customers).where(customers.c.id == customer_id).values(password_hash=password_hash))


def open_fields(vault: Vault, row: dict) -> dict[str, str | None]:
    """The clear personal fields of a customer row (None once erased)."""
    owner = row["id"]

    def opened(column: str, field: str) -> str | None:
        return vault.open(row[column], field=field, owner=owner) if row[column] is not None else None

    return {
        "name": opened("name_sealed", pii.FIELD_NAME),
        "id_number": opened("id_number_sealed", pii.FIELD_ID_NUMBER),
        "phone": opened("phone_sealed", pii.FIELD_PHONE),
        "address": opened("address_sealed", pii.FIELD_ADDRESS),
    }


def birth_date_of(connection: Connection, vault: Vault, customer_id: str) -> dt.date | None:
    """The birth date in the customer's verified resident ID number (GB 11643), for what is priced by age
    (an insured's 周岁); the clear number never leaves identity. None once the number is erased (a closed
    customer past retention); `CustomerNotFound` for an unknown customer."""
    found = connection.execute(select(customers.c.id_number_sealed).where(customers.c.id == customer_id)).first()
    if found is None:
        raise CustomerNotFound(f"customer {customer_id!r} does not exist")
    if found[0] is None:
        return None
    born: dt.date = ric.get_birth_date(vault.open(found[0], field=pii.FIELD_ID_NUMBER, owner=customer_id))
    return born


# -- bank cards -----------------------------------------------------------------------------------


def bind_card(uow: UnitOfWork, vault: Vault, customer_id: str, card_number: str, bank: str | None = None) -> str:
    """Bind a bank card (绑卡) after its Luhn check; a card binds to one customer only."""
    card = normalize_card_number(card_number)
    require_active(uow.connection, customer_id, lock=True)
    index = vault.blind_index(card, field=INDEX_CARD)
    if uow.execute(
        select(bank_cards.c.id).where(bank_cards.c.card_index.in_(vault.blind_indexes(card, field=INDEX_CARD)))
    ).first():
        raise CardAlreadyBound()
    card_id = f"card_{secrets.token_hex(8)}"
    uow.execute(
        bank_cards.insert().values(
            id=card_id,
            customer_id=customer_id,
            card_sealed=vault.seal(card, field=pii.FIELD_CARD, owner=pii.card_owner(customer_id, card_id)),
            card_index=index,
            bank=bank,
            status="bound",
            created_at=clock.now_micros(),
        )
    )
    outbox.publish(uow, TOPIC, "identity.card_bound", customer_id, {"customer_id": customer_id, "card_id": card_id})
    return card_id


def cards_of(connection: Connection, vault: Vault, customer_id: str) -> list[dict]:
    """The customer's cards with clear numbers (None once erased); callers mask."""
    rows = connection.execute(
        select(bank_cards)
        .where(bank_cards.c.customer_id == customer_id)
        .order_by(bank_cards.c.created_at, bank_cards.c.id)
    ).mappings()
    return [
        {
            "id": row["id"],
            "card_number": vault.open(
                row["card_sealed"], field=pii.FIELD_CARD, owner=pii.card_owner(customer_id, row["id"])
            )
            if row["card_sealed"] is not None
            else None,
            "bank": row["bank"],
            "status": row["status"],
            "created_at": clock.from_micros(row["created_at"]).isoformat(),
        }
        for row in rows
    ]


# -- closure ----------------------------------------------------------------------------------------


def close(uow: UnitOfWork, customer_id: str, actor: Actor, reason: str = "") -> str:
    """Close the account (注销): refuse while anything is open in the customer's name (409
    `account_has_holdings`, each listed by kind: `closing.open_holdings` — the customer's other ledger
    accounts not settled and the business forms' registered checks: loans, orders waiting, policies in
    force), or while only the wallet holds money or holds (409 `wallet_not_empty`); then erase every
    personal field and blind index, replace the name with a pseudonym, close the wallet. The ledger
    account and its transfers stay, as the law requires for financial records, and the sealed identity
    data moves to the AML retention tables until its period ends (`retention`). Returns the pseudonym."""
    require_active(uow.connection, customer_id, lock=True)
    wallet = ledger.set_account_closed(uow, wallet_id(customer_id), True)  # locks the wallet row
    wallet_open = bool(wallet.credits_posted != wallet.debits_posted or wallet.debits_pending or wallet.credits_pending)
    holdings = closing.open_holdings(uow.connection, customer_id)  # the wallet's too, when it holds anything
    if any(h.reference != wallet.id for h in holdings):  # the refusal rolls back: the wallet stays open
        raise AccountHasHoldings(
            f"{len(holdings)} open item(s): " + ", ".join(sorted({h.kind for h in holdings})),
            holdings=[h.json() for h in holdings],
        )
    if wallet_open:
        raise WalletNotEmpty(wallet_account_id=wallet.id)
    pseudonym = f"已注销用户-{secrets.token_hex(4)}"
    closed_at = clock.now_micros()
    retention.keep_for_aml(uow, customer_id, closed_at)
    uow.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(
            status=CustomerStatus.closed.value,
            name_sealed=None,
            pseudonym=pseudonym,
            id_number_sealed=None,
            id_number_index=None,
            phone_sealed=None,
            phone_index=None,
            address_sealed=None,
            password_hash=None,
            closed_at=closed_at,
        )
    )
    uow.execute(
        update(bank_cards)
        .where(bank_cards.c.customer_id == customer_id)
        .values(card_sealed=None, card_index=None, status="erased")
    )
    outbox.publish(
        uow,
        TOPIC,
        "identity.customer_closed",
        customer_id,
        {"id": customer_id, "by": actor.id, "reason": reason[:256]},
    )
    return pseudonym
