"""What the identity API answers with: a customer (masked unless revealed), a log-in, sessions."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from puhui.api.fields import Money, Schema, Timestamp


class Tier(Schema):
    """The wallet class (账户分类, I/II/III) and its limit."""

    model_config = ConfigDict(populate_by_name=True)
    class_: Literal["I", "II", "III"] = Field(alias="class")
    limit: Money
    period: str
    may_invest: bool


class Verification(Schema):
    channel: str
    reference: str
    passed: bool
    recorded_by: str
    at: Timestamp


class Card(Schema):
    """A bound bank card; the number masked (BIN and last 4) unless revealed."""

    id: str
    card_number: str | None
    bank: str | None
    status: str
    created_at: Timestamp


class Consent(Schema):
    purpose: str
    sensitive: bool
    granted: bool
    at: Timestamp


class Customer(Schema):
    """A customer (客户). Personal fields are masked unless `revealed` (staff who may, on request, logged)."""

    id: str
    status: Literal["active", "closed"]
    name: str | None
    id_number: str | None
    phone: str | None
    address: str | None
    revealed: bool
    tier: Tier | None
    eligible_tier: Literal["I", "II", "III"] | None
    verifications: list[Verification]
    cards: list[Card]
    consents: list[Consent]
    wallet_account_id: str
    created_at: Timestamp
    closed_at: Timestamp | None


class Login(Schema):
    """A session token (Bearer) for the customer, until `expires_at` or log-out."""

    customer_id: str
    token: str
    token_type: Literal["Bearer"]
    expires_at: Timestamp


class Session(Schema):
    id: str
    created_at: Timestamp
    expires_at: Timestamp


class Sessions(Schema):
    customer_id: str
    current: str | None
    sessions: list[Session]


class SessionsEnded(Schema):
    customer_id: str
    sessions_ended: int
    password_changed: bool | None = None


class Settlement(Schema):
    """Where the merchant is paid out (结算账户), masked."""

    bank: str
    account: str
    holder: str


class Merchant(Schema):
    """A merchant (商户); the settlement account and its holder masked."""

    id: str
    name: str
    credit_code: str = Field(description="unified social credit code (统一社会信用代码)")
    status: Literal["active", "suspended"]
    settlement: Settlement
    wallet_account_id: str
    fee_rate_bp: int | None = Field(description="acquiring fee (商户费率) in basis points; null: the platform default")
    notify_url: str | None
    created_at: Timestamp


class OnboardedMerchant(Merchant):
    """The merchant just onboarded, with its first API key: shown in this answer only."""

    api_key: str | None
    api_key_note: str


class ApiKey(Schema):
    prefix: str
    kind: str
    created_at: Timestamp
    revoked: bool


class ApiKeys(Schema):
    api_keys: list[ApiKey]


class IssuedApiKey(Schema):
    """Another API key for rotation: shown in this answer only."""

    merchant_id: str
    prefix: str
    api_key: str | None
    api_key_note: str


class Revoked(Schema):
    prefix: str
    revoked: bool


TierName = Literal["I", "II", "III"]


class RecordedVerification(Schema):
    channel: str
    reference: str
    passed: bool
    at: Timestamp


class VerificationRecorded(Schema):
    """One independent verification (实名核验) recorded, and where the customer now stands."""

    customer_id: str
    verification: RecordedVerification
    passed_channels: list[str]
    eligible_tier: TierName | None
    tier: TierName | None


class TierChanged(Schema):
    """A wallet class upgrade (账户升级), audited with who did it and why."""

    model_config = ConfigDict(populate_by_name=True)
    customer_id: str
    from_: TierName | None = Field(alias="from")
    to: TierName
    reason: str
    by: str
    at: Timestamp
    tier: Tier | None


class ConsentRecorded(Schema):
    recorded: Consent
    consents: list[Consent]


class MerchantListed(Schema):
    id: str
    name: str
    status: Literal["active", "suspended"]
    fee_rate_bp: int | None
    created_at: Timestamp


class Merchants(Schema):
    merchants: list[MerchantListed]


class FeeRateSet(Schema):
    id: str
    fee_rate_bp: int | None


class MerchantStatusSet(Schema):
    id: str
    status: Literal["active", "suspended"]
