"""Identity tables, on the platform's one `metadata`.

Personal fields are stored only sealed (`*_sealed`, see `puhui.identity.vault`) and looked up only
through keyed blind indexes (`*_index`). Closing a customer nulls both; the unique indexes allow
many NULLs, so a closed customer's ID number can register again. Times are UTC microseconds.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Identity, Index, Integer, String, Table, Text

from puhui.db.tables import ID_LENGTH, Seq, metadata

INDEX_LENGTH = 64  # hex HMAC-SHA256

customers = Table(
    "customers",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("status", String(8), nullable=False),  # active | closed
    Column("tier", Integer, nullable=True),  # WalletTier; NULL until the first upgrade
    Column("name_sealed", Text, nullable=True),
    Column("pseudonym", String(64), nullable=True),  # replaces the name once closed
    Column("id_number_sealed", Text, nullable=True),
    Column("id_number_index", String(INDEX_LENGTH), nullable=True, unique=True),
    Column("phone_sealed", Text, nullable=True),
    Column("phone_index", String(INDEX_LENGTH), nullable=True, unique=True),
    Column("address_sealed", Text, nullable=True),
    Column("password_hash", String(256), nullable=True),
    Column("wallet_account_id", String(ID_LENGTH), ForeignKey("accounts.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("closed_at", BigInteger, nullable=True),
)

bank_cards = Table(
    "bank_cards",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), ForeignKey("customers.id"), nullable=False),
    Column("card_sealed", Text, nullable=True),
    Column("card_index", String(INDEX_LENGTH), nullable=True, unique=True),
    Column("bank", String(64), nullable=True),
    Column("status", String(8), nullable=False),  # bound | erased
    Column("created_at", BigInteger, nullable=False),
    Index("ix_bank_cards_customer_id", "customer_id"),
)

verifications = Table(
    "verifications",
    metadata,
    Column("seq", Seq, Identity(), primary_key=True),
    Column("customer_id", String(ID_LENGTH), ForeignKey("customers.id"), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("reference", String(128), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("reason", String(32), nullable=True),  # why a check failed (`verifier.Reason`); null: passed, or not said
    Column("recorded_by", String(ID_LENGTH), nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_verifications_customer_id", "customer_id"),
    Index("uq_verifications_channel_reference", "channel", "reference", unique=True),
)

verification_checks_running = Table(
    "verification_checks_running",  # 核验进行中: a customer's check whose provider is being asked
    metadata,
    Column("customer_id", String(ID_LENGTH), ForeignKey("customers.id"), primary_key=True),
    Column("channel", String(32), primary_key=True),  # one running check a channel
    Column("token", String(32), nullable=False),  # whose hold it is: only its own request releases it
    Column("started_at", BigInteger, nullable=False),
)

tier_changes = Table(
    "tier_changes",
    metadata,
    Column("seq", Seq, Identity(), primary_key=True),
    Column("customer_id", String(ID_LENGTH), ForeignKey("customers.id"), nullable=False),
    Column("from_tier", Integer, nullable=True),
    Column("to_tier", Integer, nullable=False),
    Column("reason", String(256), nullable=False),
    Column("changed_by", String(ID_LENGTH), nullable=False),
    Column("changed_by_role", String(16), nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_tier_changes_customer_id", "customer_id"),
)

consents = Table(
    "consents",
    metadata,
    Column("seq", Seq, Identity(), primary_key=True),
    Column("customer_id", String(ID_LENGTH), ForeignKey("customers.id"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("sensitive", Boolean, nullable=False),  # separate consent for sensitive personal information
    Column("granted", Boolean, nullable=False),  # false: withdrawn
    Column("recorded_by", String(ID_LENGTH), nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_consents_latest", "customer_id", "purpose", "sensitive", "seq"),
)

pii_access_log = Table(
    "pii_access_log",
    metadata,
    Column("seq", Seq, Identity(), primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("principal", String(ID_LENGTH), nullable=False),
    Column("role", String(16), nullable=False),
    Column("subject", String(ID_LENGTH), nullable=False),
    Column("fields", String(256), nullable=False),
    Column("purpose", String(256), nullable=False),
    Column("request_id", String(64), nullable=True),
    Index("ix_pii_access_log_subject", "subject", "seq"),
)

merchants = Table(
    "merchants",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("name", String(128), nullable=False),  # trading name (a business, not a person)
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("settlement_account_sealed", Text, nullable=False),
    Column("settlement_holder_sealed", Text, nullable=False),
    Column("settlement_bank", String(64), nullable=False),
    Column("status", String(12), nullable=False),  # active | suspended
    Column("wallet_account_id", String(ID_LENGTH), ForeignKey("accounts.id"), nullable=False),
    Column("created_by", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("fee_rate_bp", Integer, nullable=True),  # 商户费率 in basis points; NULL = the platform default
    Column("notify_url", String(512), nullable=True),  # where signed payment notifications are POSTed
)

partners = Table(
    "partners",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("created_by", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("handle", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("created_by", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger, nullable=True),
)

# API keys (merchants, partners) and staff tokens: shown once, kept as SHA-256, found by prefix.
credentials = Table(
    "credentials",
    metadata,
    Column("prefix", String(32), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # api_key | staff_token
    Column("subject_id", String(ID_LENGTH), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_by", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Index("ix_credentials_subject_id", "subject_id"),
)

# A customer's log-in sessions (登录会话): one row per token issued, by the token's `jti`. A token is
# honoured only while its row is unrevoked, so log-out, "log out everywhere" and a password change
# take effect at once rather than when the token expires.
customer_sessions = Table(
    "customer_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Index("ix_customer_sessions_customer_id", "customer_id"),
)

IDENTITY_TABLES = (
    customers,
    bank_cards,
    verifications,
    verification_checks_running,
    tier_changes,
    consents,
    pii_access_log,
    merchants,
    partners,
    staff,
    credentials,
)

# Failed log-ins per phone (by its blind index, never the phone): after too many in a window the
# phone is locked for a while, whatever the password, so passwords cannot be guessed online.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("subject_index", String(INDEX_LENGTH), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("locked_until", BigInteger, nullable=True),
)

# Identity data of closed customers kept for the anti-money-laundering retention period (客户身份
# 资料, at least five years after the relationship ends), still sealed, out of every lookup and view;
# `retention.purge_expired` erases it when the period is over.
aml_retention = Table(
    "aml_retention",
    metadata,
    Column("customer_id", String(ID_LENGTH), primary_key=True),
    Column("name_sealed", Text, nullable=True),
    Column("id_number_sealed", Text, nullable=True),
    Column("phone_sealed", Text, nullable=True),
    Column("address_sealed", Text, nullable=True),
    Column("closed_at", BigInteger, nullable=False),
    Column("retain_until", BigInteger, nullable=False),
    Index("ix_aml_retention_retain_until", "retain_until"),
)

aml_retention_cards = Table(
    "aml_retention_cards",
    metadata,
    Column("card_id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("card_sealed", Text, nullable=True),
    Column("retain_until", BigInteger, nullable=False),
    Index("ix_aml_retention_cards_retain_until", "retain_until"),
)
