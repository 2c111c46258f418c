"""How a customer is shown: masked for everyone by default, clear only when the caller may and asks
(the API logs that access), and the customer's own export (个人信息副本) with every record we hold."""

from __future__ import annotations

from sqlalchemy import Connection

from puhui import clock
from puhui.identity import consent, kyc
from puhui.identity import customers as customer_ops
from puhui.identity.models import MASKS, CustomerStatus, WalletTier
from puhui.identity.vault import Vault
from puhui.ledger import service as ledger
from puhui.money import format_minor

PERSONAL_FIELDS = ("name", "id_number", "phone", "address")


def _masked(fields: dict[str, str | None]) -> dict[str, str | None]:
    return {k: (MASKS[k](v) if v is not None else None) for k, v in fields.items()}


def customer_view(connection: Connection, vault: Vault, customer_id: str, *, reveal: bool = False) -> dict:
    """The customer record; personal fields and card numbers masked unless `reveal`."""
    row = customer_ops.get_row(connection, customer_id)
    fields = customer_ops.open_fields(vault, row)
    shown = fields if reveal else _masked(fields)
    if row["status"] == CustomerStatus.closed:
        shown["name"] = row["pseudonym"]
    cards = customer_ops.cards_of(connection, vault, customer_id)
    for card in cards:
        if card["card_number"] is not None and not reveal:
            card["card_number"] = MASKS["card_number"](card["card_number"])
    tier = WalletTier(row["tier"]) if row["tier"] is not None else None
    eligible = kyc.eligible_tier(connection, customer_id)
    return {
        "id": row["id"],
        "status": row["status"],
        **shown,
        "revealed": reveal,
        "tier": kyc.tier_json(tier),
        "eligible_tier": eligible.name if eligible else None,
        "verifications": kyc.verifications_of(connection, customer_id),
        "cards": cards,
        "consents": consent.current_consents(connection, customer_id),
        "wallet_account_id": row["wallet_account_id"],
        "created_at": clock.from_micros(row["created_at"]).isoformat(),
        "closed_at": clock.from_micros(row["closed_at"]).isoformat() if row["closed_at"] else None,
    }


def customer_export(connection: Connection, vault: Vault, customer_id: str) -> dict:
    """Everything held about the customer, in clear, for the customer themself (data portability)."""
    record = customer_view(connection, vault, customer_id, reveal=True)
    wallet = ledger.require_account(connection, record["wallet_account_id"])
    scale = ledger.ledger_of(connection, wallet.ledger).scale
    return {
        "format": "puhui.customer_export.v1",
        "exported_at": clock.now().isoformat(),
        "customer": {k: v for k, v in record.items() if k not in ("revealed", "consents")},
        "consents": consent.consent_history(connection, customer_id),
        "tier_changes": kyc.tier_history(connection, customer_id),
        "wallet": {
            "account_id": wallet.id,
            "ledger": wallet.ledger,
            "balance": format_minor(wallet.credits_posted - wallet.debits_posted, scale),
            "pending_in": format_minor(wallet.credits_pending, scale),
            "pending_out": format_minor(wallet.debits_pending, scale),
        },
    }
