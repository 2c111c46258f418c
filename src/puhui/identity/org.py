"""Merchants (商户), partners (合作机构) and staff (员工): who they are and their credentials.

A merchant is a business with a settlement bank account (结算账户, sealed at rest) and a ledger
wallet (`wallet.<merchant id>`, code `merchant_wallet`) opened in the same transaction. Merchants and
partners call with API keys; staff with tokens. Keys and tokens are returned once, by the function
that mints them, and are kept only as SHA-256 hashes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.db.prepared import Prepared, Read, run
from puhui.errors import InvalidInput
from puhui.events import outbox
from puhui.identity import auth, pii
from puhui.identity.errors import (
    CreditCodeTaken,
    HandleTaken,
    InvalidHandle,
    InvalidName,
    InvalidRole,
    MerchantNotFound,
    MerchantSuspended,
)
from puhui.identity.models import (
    STAFF_ROLES,
    Actor,
    Role,
    mask_bank_account,
    mask_name,
    normalize_bank_account,
    normalize_credit_code,
    normalize_name,
)
from puhui.identity.tables import merchants, partners, staff
from puhui.identity.vault import Vault
from puhui.ledger import service as ledger
from puhui.ledger.models import AccountFlags

TOPIC = "identity"
HANDLE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


WALLET_PREFIX = "wallet."


def wallet_id(merchant_id: str) -> str:
    return WALLET_PREFIX + merchant_id


@dataclass(frozen=True, repr=False)
class MerchantApplication:
    name: str
    credit_code: str
    settlement_account: str
    settlement_holder: str
    settlement_bank: str


def prepare_merchant(
    *, name: str, credit_code: str, settlement_account: str, settlement_holder: str, settlement_bank: str
) -> MerchantApplication:
    """Check a merchant's data: USCC (GB 32100), settlement account, holder and bank names."""
    return MerchantApplication(
        name=_business_name(name, "name"),
        credit_code=normalize_credit_code(credit_code),
        settlement_account=normalize_bank_account(settlement_account),
        settlement_holder=normalize_name(settlement_holder),
        settlement_bank=_business_name(settlement_bank, "settlement_bank"),
    )


def _business_name(value: str, what: str) -> str:
    text = " ".join(value.split())
    if not 1 <= len(text) <= 128 or not text.isprintable():
        raise InvalidName(f"{what} has 1-128 printable characters")
    return text


def create_merchant(uow: UnitOfWork, vault: Vault, data: MerchantApplication, actor: Actor) -> tuple[str, str]:
    """Onboard a merchant (商户入网) with a wallet; returns (merchant id, API key shown once)."""
    if uow.execute(select(merchants.c.id).where(merchants.c.credit_code == data.credit_code)).first():
        raise CreditCodeTaken()
    merchant_id = f"mch_{secrets.token_hex(8)}"
    ledger.create_account(
        uow,
        ledger="CNY",
        code="merchant_wallet",
        owner_id=merchant_id,
        flags=AccountFlags.debits_must_not_exceed_credits,
        id=wallet_id(merchant_id),
    )
    uow.execute(
        merchants.insert().values(
            id=merchant_id,
            name=data.name,
            credit_code=data.credit_code,
            settlement_account_sealed=vault.seal(
                data.settlement_account, field=pii.FIELD_SETTLEMENT_ACCOUNT, owner=merchant_id
            ),
            settlement_holder_sealed=vault.seal(
                data.settlement_holder, field=pii.FIELD_SETTLEMENT_HOLDER, owner=merchant_id
            ),
            settlement_bank=data.settlement_bank,
            status="active",
            wallet_account_id=wallet_id(merchant_id),
            created_by=actor.id,
            created_at=clock.now_micros(),
        )
    )
    key = auth.mint_credential(uow, subject_id=merchant_id, role=Role.merchant, created_by=actor.id)
    outbox.publish(uow, TOPIC, "identity.merchant_created", merchant_id, {"id": merchant_id, "name": data.name})
    return merchant_id, key


def effective_fee_rate(fee_rate_bp: int | None, default_fee_bp: int) -> int:
    """The acquiring fee rate a merchant pays (商户费率, basis points): its own, else the platform's default."""
    return default_fee_bp if fee_rate_bp is None else int(fee_rate_bp)


def merchant_view(connection: Connection, vault: Vault, merchant_id: str, default_fee_bp: int) -> dict:
    """A merchant as the API shows it: settlement account and holder masked."""
    row = connection.execute(select(merchants).where(merchants.c.id == merchant_id)).mappings().first()
    if row is None:
        raise MerchantNotFound(f"merchant {merchant_id!r} does not exist")
    account, holder = settlement_account(connection, vault, merchant_id)
    return {
        "id": row["id"],
        "name": row["name"],
        "credit_code": row["credit_code"],
        "status": row["status"],
        "settlement": {
            "bank": row["settlement_bank"],
            "account": mask_bank_account(account),
            "holder": mask_name(holder),
        },
        "wallet_account_id": row["wallet_account_id"],
        "fee_rate_bp": row["fee_rate_bp"],
        "effective_fee_rate_bp": effective_fee_rate(row["fee_rate_bp"], default_fee_bp),
        "notify_url": row["notify_url"],
        "created_at": clock.from_micros(row["created_at"]).isoformat(),
    }


MAX_FEE_RATE_BP = 1_000  # 10%: a higher acquiring fee rate is a typing error, not a price


def set_fee_rate(uow: UnitOfWork, merchant_id: str, fee_rate_bp: int | None, actor: Actor) -> dict:
    """Set the merchant's acquiring fee rate (商户费率) in basis points; None returns it to the
    platform default. Payments already made keep the rate they were charged."""
    if fee_rate_bp is not None and not 0 <= fee_rate_bp <= MAX_FEE_RATE_BP:
        raise InvalidInput(f"fee_rate_bp is between 0 and {MAX_FEE_RATE_BP}")
    _update_merchant(uow, merchant_id, fee_rate_bp=fee_rate_bp)
    outbox.publish(
        uow,
        TOPIC,
        "identity.merchant_fee_rate_set",
        merchant_id,
        {"id": merchant_id, "fee_rate_bp": fee_rate_bp, "by": actor.id},
    )
    return {"id": merchant_id, "fee_rate_bp": fee_rate_bp}


def set_merchant_status(uow: UnitOfWork, merchant_id: str, status: str, actor: Actor) -> dict:
    """Suspend (no new payments, no settlement) or reactivate a merchant."""
    if status not in ("active", "suspended"):
        raise InvalidInput("status is active or suspended")
    _update_merchant(uow, merchant_id, status=status)
    outbox.publish(uow, TOPIC, f"identity.merchant_{status}", merchant_id, {"id": merchant_id, "by": actor.id})
    return {"id": merchant_id, "status": status}


def merchant_status(connection: Connection, merchant_id: str) -> str | None:
    """`active` or `suspended`; None for no such merchant."""
    return connection.execute(select(merchants.c.status).where(merchants.c.id == merchant_id)).scalar()


def merchant_is_active(connection: Connection, merchant_id: str) -> bool:
    return merchant_status(connection, merchant_id) == "active"


def active_merchant_ids(connection: Connection) -> list[str]:
    return list(
        connection.execute(
            select(merchants.c.id).where(merchants.c.status == "active").order_by(merchants.c.id)
        ).scalars()
    )


def notify_urls(connection: Connection) -> dict[str, str]:
    """The notify URL (商户通知地址) of every merchant that registered one, by merchant id."""
    return dict(
        connection.execute(
            select(merchants.c.id, merchants.c.notify_url).where(merchants.c.notify_url.is_not(None))
        ).all()
    )


def set_notify_url(uow: UnitOfWork, merchant_id: str, url: str | None) -> None:
    """Record the merchant's notify URL (checked by the caller: `payments.notifications.check_url`)."""
    _update_merchant(uow, merchant_id, notify_url=url)


def partner_exists(connection: Connection, partner_id: str) -> bool:
    return connection.execute(select(partners.c.id).where(partners.c.id == partner_id)).first() is not None


def require_merchant(connection: Connection, merchant_id: str) -> None:
    if connection.execute(select(merchants.c.id).where(merchants.c.id == merchant_id)).first() is None:
        raise MerchantNotFound(f"merchant {merchant_id!r} does not exist")


def _update_merchant(uow: UnitOfWork, merchant_id: str, **values: object) -> None:
    done = uow.execute(merchants.update().where(merchants.c.id == merchant_id).values(**values))
    if done.rowcount != 1:
        raise MerchantNotFound(f"merchant {merchant_id!r} does not exist")


_TERMS = Prepared(select(merchants.c.status, merchants.c.fee_rate_bp).where(merchants.c.id == bindparam("id")))


def terms_read(merchant_id: str) -> Read:
    """The read `merchant_terms` makes, to be read ahead (`puhui.db.prepared.read_ahead`)."""
    return _TERMS, {"id": merchant_id}


def merchant_terms(connection: Connection, merchant_id: str, default_fee_bp: int) -> int:
    """The fee rate a payment to this merchant is charged now; refuses a suspended merchant."""
    row = run(connection, *terms_read(merchant_id)).first()
    if row is None:
        raise MerchantNotFound(f"merchant {merchant_id!r} does not exist")
    return judged_terms(merchant_id, row[0], row[1], default_fee_bp)


def judged_terms(merchant_id: str, status: str, fee_rate_bp: int | None, default_fee_bp: int) -> int:
    """The fee rate of a merchant read as `status` and `fee_rate_bp` (`merchant_terms`, `terms_sql`);
    refuses a suspended merchant."""
    if status != "active":
        raise MerchantSuspended(f"merchant {merchant_id} is {status}")
    return effective_fee_rate(fee_rate_bp, default_fee_bp)


def terms_sql(merchant_ids: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """Driver SQL (PostgreSQL) reading the terms of the merchants that `merchant_ids` (the caller's driver
    SQL, with its values) selects, (id, status, fee_rate_bp) rows: for a caller to send with its own
    statements, as a group-commit batch reads its merchants as it begins (`judged_terms` judges them)."""
    return f"SELECT id, status, fee_rate_bp FROM merchants WHERE id IN ({merchant_ids})", tuple(values)


def list_merchants(connection: Connection, default_fee_bp: int) -> list[dict]:
    """Every merchant with its status and fee rate, its own or the platform's default (no settlement details)."""
    rows = connection.execute(
        select(
            merchants.c.id, merchants.c.name, merchants.c.status, merchants.c.fee_rate_bp, merchants.c.created_at
        ).order_by(merchants.c.created_at, merchants.c.id)
    )
    return [
        {
            **r,
            "effective_fee_rate_bp": effective_fee_rate(r["fee_rate_bp"], default_fee_bp),
            "created_at": clock.iso(r["created_at"]),
        }
        for r in rows.mappings()
    ]


def settlement_account(connection: Connection, vault: Vault, merchant_id: str) -> tuple[str, str]:
    """(account number, holder) in clear, for paying the merchant out through the bank channel."""
    row = connection.execute(
        select(merchants.c.settlement_account_sealed, merchants.c.settlement_holder_sealed).where(
            merchants.c.id == merchant_id
        )
    ).first()
    if row is None:
        raise MerchantNotFound(f"merchant {merchant_id!r} does not exist")
    return (
        vault.open(row[0], field=pii.FIELD_SETTLEMENT_ACCOUNT, owner=merchant_id),
        vault.open(row[1], field=pii.FIELD_SETTLEMENT_HOLDER, owner=merchant_id),
    )


def create_partner(uow: UnitOfWork, name: str, actor: Actor) -> tuple[str, str]:
    """Register a partner institution (funding bank, insurer, fund company); returns (id, API key once)."""
    partner_id = f"ptn_{secrets.token_hex(8)}"
    uow.execute(
        partners.insert().values(
            id=partner_id, name=_business_name(name, "name"), created_by=actor.id, created_at=clock.now_micros()
        )
    )
    key = auth.mint_credential(uow, subject_id=partner_id, role=Role.partner, created_by=actor.id)
    outbox.publish(uow, TOPIC, "identity.partner_created", partner_id, {"id": partner_id})
    return partner_id, key


def create_staff(uow: UnitOfWork, handle: str, role: str, actor: Actor) -> tuple[str, str]:
    """Add a staff member with a role (operator, risk_officer, regulator, admin); returns (id, token once)."""
    if not HANDLE.match(handle):
        raise InvalidHandle()
    if role not in {r.value for r in STAFF_ROLES}:
        raise InvalidRole(f"staff roles are {sorted(r.value for r in STAFF_ROLES)}")
    if uow.execute(select(staff.c.id).where(staff.c.handle == handle)).first():
        raise HandleTaken()
    staff_id = f"stf_{secrets.token_hex(8)}"
    uow.execute(
        staff.insert().values(id=staff_id, handle=handle, role=role, created_by=actor.id, created_at=clock.now_micros())
    )
    token = auth.mint_credential(uow, subject_id=staff_id, role=Role(role), created_by=actor.id)
    outbox.publish(uow, TOPIC, "identity.staff_created", staff_id, {"id": staff_id, "role": role})
    return staff_id, token
