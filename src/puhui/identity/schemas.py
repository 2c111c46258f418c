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


FailureReason = Literal["details_mismatch", "not_confirmed"]
"""Why a real-name check failed (`verifier.Reason`)."""


class Verification(Schema):
    """One recorded real-name check (实名核验), passed or failed."""

    channel: str
    reference: str
    passed: bool
    reason: FailureReason | None = Field(
        description="why it failed: `details_mismatch` (what the customer typed is not their own record), "
        "`not_confirmed` (the channel did not confirm the identity); null when it passed, when staff recorded it "
        "without one, or when it was recorded before reasons were kept"
    )
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
    effective_fee_rate_bp: int = Field(description="the fee rate it pays: its own, or the platform default")
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
    reason: FailureReason | None = Field(
        description="why it failed, as staff recorded it (`details_mismatch`, `not_confirmed`); null when it passed "
        "or no reason was given"
    )
    passed_channels: list[str]
    eligible_tier: TierName | None
    tier: TierName | None


class SelfVerification(Schema):
    """One identity check the customer ran themself (自助实名核验), recorded passed or failed, and where they now
    stand. What was checked is shown masked; nothing typed is stored."""

    customer_id: str
    verification: RecordedVerification
    reason: FailureReason | None = Field(
        description="why it failed: `details_mismatch` (what was typed is not the customer's own record: no "
        "provider was asked), `not_confirmed` (the channel did not confirm the identity); null when it passed"
    )
    checked: dict[str, str] = Field(description="what the check covered, masked (name, id_number, phone, card_number)")
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
    fee_rate_bp: int | None = Field(description="its own acquiring fee (商户费率) in basis points; null: the default")
    effective_fee_rate_bp: int = Field(description="the fee rate it pays: its own, or the platform default")
    created_at: Timestamp


class Merchants(Schema):
    merchants: list[MerchantListed]


class FeeRateSet(Schema):
    id: str
    fee_rate_bp: int | None = Field(description="its own rate in basis points; null: the platform default")
    effective_fee_rate_bp: int = Field(description="the fee rate it pays from now: its own, or the platform default")


class MerchantStatusSet(Schema):
    id: str
    status: Literal["active", "suspended"]


class Partner(Schema):
    """A partner (合作机构) registered to call the partner API."""

    id: str
    name: str
    role: Literal["partner"]


class RegisteredPartner(Partner):
    """The partner just registered, with its API key: shown in this answer only."""

    api_key: str | None
    api_key_note: str


StaffRole = Literal["operator", "risk_officer", "regulator", "admin"]


class StaffMember(Schema):
    """A staff member (员工) and the role they act in."""

    id: str
    handle: str
    role: StaffRole


class NewStaffMember(StaffMember):
    """The staff member just added, with their bearer token: shown in this answer only."""

    token: str | None
    token_note: str


class PiiAccess(Schema):
    """One look at a customer's personal information in clear (个人信息查阅记录): who, whose, which fields, why."""

    seq: int
    at: Timestamp
    principal: str
    role: str
    subject: str = Field(description="the customer whose information was seen")
    fields: list[str]
    purpose: str
    request_id: str | None


class PiiAccessLog(Schema):
    """The clear-access log in order; `next` is the cursor of the next page (null on the last one)."""

    entries: list[PiiAccess]
    next: int | None


class RecordedConsent(Consent):
    """A consent (授权) as recorded, with who recorded it."""

    recorded_by: str


class TierChange(Schema):
    """A wallet class change (账户升级) as recorded: from which class to which, why, by whom."""

    model_config = ConfigDict(populate_by_name=True)
    from_: TierName | None = Field(alias="from")
    to: TierName
    reason: str
    by: str
    role: str
    at: Timestamp


class ExportedWallet(Schema):
    """The customer's wallet (钱包) in the export: posted balance and what is pending in and out."""

    account_id: str
    ledger: str
    balance: Money
    pending_in: Money
    pending_out: Money


class ExportedCustomer(Schema):
    """The customer record in the export, in clear (the customer's own)."""

    id: str
    status: Literal["active", "closed"]
    name: str | None
    id_number: str | None
    phone: str | None
    address: str | None
    tier: Tier | None
    eligible_tier: TierName | None
    verifications: list[Verification]
    cards: list[Card]
    wallet_account_id: str
    created_at: Timestamp
    closed_at: Timestamp | None


class CustomerExport(Schema):
    """Everything held about a customer (个人信息副本, data portability): the record in clear, every consent
    and tier change as recorded, and the wallet."""

    format: Literal["puhui.customer_export.v1"]
    exported_at: Timestamp
    customer: ExportedCustomer
    consents: list[RecordedConsent]
    tier_changes: list[TierChange]
    wallet: ExportedWallet
