"""The identity service API that other packages call (payments, lending, risk, the demo).

    tier_of(connection, customer_id) -> WalletTier | None      current wallet class (None: unverified)
    TIER_RULES[tier]                                          its limit (fen), period, may_invest
    customer_wallet_id / merchant_wallet_id                   the ledger wallet of a customer / merchant
    is_active(connection, customer_id)                        not closed
    birth_date_of(connection, vault, customer_id)             the birth date in the ID number (None: erased)
    has_consent(connection, customer_id, purpose, sensitive=) the customer's standing consent
    settlement_account(connection, vault, merchant_id)        clear (account, holder) for pay-outs
    vault_for(settings)                                       the configured PII vault (500 if none)

Operations that change identity state live in `customers`, `kyc`, `consent` and `org`, each taking
the caller's unit of work; `rotate_keys` re-seals personal data under the active key.
"""

from __future__ import annotations

import base64
import secrets

from puhui.identity.consent import has_consent, record_consent
from puhui.identity.customers import bind_card, birth_date_of, close, is_active, prepare_registration, register
from puhui.identity.customers import wallet_id as customer_wallet_id
from puhui.identity.kyc import eligible_tier, record_verification, tier_of, upgrade_tier
from puhui.identity.models import TIER_RULES, ConsentPurpose, TierRule, VerificationChannel, WalletTier
from puhui.identity.org import create_merchant, create_partner, create_staff, prepare_merchant, settlement_account
from puhui.identity.org import wallet_id as merchant_wallet_id
from puhui.identity.pii import key_usage, rotate_keys, vault_for
from puhui.identity.vault import generate_key
from puhui.settings import Settings

__all__ = [
    "TIER_RULES",
    "TierRule",
    "WalletTier",
    "ConsentPurpose",
    "VerificationChannel",
    "tier_of",
    "eligible_tier",
    "is_active",
    "birth_date_of",
    "has_consent",
    "customer_wallet_id",
    "merchant_wallet_id",
    "settlement_account",
    "vault_for",
    "prepare_registration",
    "register",
    "bind_card",
    "close",
    "record_verification",
    "upgrade_tier",
    "record_consent",
    "prepare_merchant",
    "create_merchant",
    "create_partner",
    "create_staff",
    "rotate_keys",
    "key_usage",
    "with_demo_secrets",
]


def with_demo_secrets(settings: Settings) -> Settings:
    """For `puhui serve --demo` only: fill unset PII keys and JWT secret with ephemeral random ones
    (data sealed under them is unreadable after the process ends — fine for a throwaway demo).
    A non-demo server never calls this and answers PII calls with `vault_not_configured`."""
    updates = {}
    if not settings.pii_keys:
        updates["pii_keys"] = f"demo:{generate_key()}"
    if not settings.pii_index_key:
        updates["pii_index_key"] = generate_key()
    if not settings.jwt_secret:
        updates["jwt_secret"] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return settings.model_copy(update=updates)
