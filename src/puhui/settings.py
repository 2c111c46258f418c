"""Settings in one place, from the environment (`PUHUI_*`)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from puhui.errors import PuhuiError


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("puhui"))
    return f"sqlite:///{data_dir / 'puhui.db'}"


class EnvFileMissing(PuhuiError):
    """PUHUI_ENV_FILE names a file that is not there: every command and the server refuse rather than run on
    the default database and keys (a mistyped path, or a demo directory since removed)."""

    code = "env_file_missing"
    status = 500
    title = "PUHUI_ENV_FILE names a file that does not exist"
    exit_status = 2


def env_file() -> Path | None:
    """The dotenv file PUHUI_ENV_FILE names (None when it is unset or empty); `EnvFileMissing` when there is
    no such file."""
    named = os.environ.get("PUHUI_ENV_FILE")
    if not named:
        return None
    path = Path(named).expanduser()
    if not path.exists() or path.is_dir():
        what = "is a directory" if path.exists() else "does not exist"
        raise EnvFileMissing(
            f"PUHUI_ENV_FILE names {named}, which {what}: point it at a settings file "
            "(`puhui serve --demo` writes one and prints its path) or unset it",
            path=named,
        )
    return path


# Public defaults, good for tests and the sandbox only: anyone can sign with them (`production_problems`).
SANDBOX_MERCHANT_NOTIFY_KEY = "puhui-dev-merchant-notify-key"
SANDBOX_BANK_NOTIFY_KEY = "puhui-sandbox-bank-notify-key"
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUHUI_", extra="ignore")

    database_url: str = ""
    # The sandbox (沙箱): the platform clock may be moved forward over /v1/sandbox/clock, its offset kept in
    # the database for every process. Never in production: outside the sandbox the offset is ignored.
    sandbox: bool = False
    admin_token: str = Field("", repr=False)
    expiry_interval_seconds: float = 1.0
    # Personal information vault: "kid:base64(32 bytes),kid2:..."; the first key seals, all open.
    pii_keys: str = Field("", repr=False)
    # Key of the blind index (HMAC-SHA256) used to look up phone and ID numbers; base64 of 32 bytes.
    pii_index_key: str = Field("", repr=False)
    # HS256 secret for customer session tokens (JWT), at least 32 characters.
    jwt_secret: str = Field("", repr=False)
    jwt_ttl_seconds: int = Field(900, ge=30, le=86_400)
    # Natural persons younger than this (full years, from the ID number's birth date) cannot register alone.
    min_customer_age: int = Field(18, ge=0, le=120)
    # The largest request body accepted (a NAV file of 5,000,000 characters fits); larger ones get a 413.
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, le=1024**3)
    # Log-ins and sign-ups (each a 64 MiB password hash) per minute from one client address; 0: no limit.
    auth_rate_per_minute: int = Field(60, ge=0, le=100_000)
    # Payments: the default merchant discount rate (basis points) and the HMAC key that signs
    # payment notifications to merchants.
    merchant_fee_bp: int = Field(60, ge=0, le=10_000)
    merchant_notify_key: str = Field(SANDBOX_MERCHANT_NOTIFY_KEY, repr=False)
    # HMAC key shared with the bank channel (notifications are verified with it); the sandbox
    # bank signs with it too.
    bank_notify_key: str = Field(SANDBOX_BANK_NOTIFY_KEY, repr=False)
    # The server's bank worker (`payments.bank_worker`): delivers the bank channel's notifications every
    # `bank_delivery_interval_seconds`, and every `bank_sweep_interval_seconds` queries the bank for
    # orders still pending `bank_sweep_after_seconds` after they were made (platform clock).
    bank_worker: bool = True
    bank_delivery_interval_seconds: float = Field(0.5, gt=0, le=60)
    bank_sweep_interval_seconds: float = Field(5.0, gt=0, le=3600)
    bank_sweep_after_seconds: float = Field(60.0, ge=0, le=86_400)
    # How long the server's sandbox bank takes to settle an order before it notifies (platform clock).
    sandbox_bank_delay_seconds: float = Field(30.0, ge=0, le=86_400)
    # Real-time fraud checks (rules and model over live window state) in front of every payment;
    # the window state follows the outbox every `fraud_catch_up_seconds`.
    fraud_checks: bool = True
    # Decide payments by the fraud cost policy (allow / step-up challenge / hold / decline, 按损失定处置):
    # "shipped" for the shipped calibration, or the path of a calibration JSON (`puhui simulate
    # --fit-fraud-calibration`). None: the fraud rules' own actions (review / decline).
    fraud_policy: str | None = None
    # Group commit (成组提交) of payments: the payments arriving together in one process commit in one
    # transaction, each in its own savepoint (`puhui.db.group_commit`); off: one transaction each.
    group_commit: bool = True
    # SQLite under `puhui serve`: the group commit runs in a writer process of its own (`puhui.db.writer`),
    # on another core than the server's event loop; off: in the serving process.
    writer_process: bool = True
    fraud_catch_up_seconds: float = Field(0.1, gt=0, le=60)
    # PostgreSQL connections a process keeps open, and how many more it may open in a burst (closed again
    # when given back). `puhui serve` sets them for its workers from the server's max_connections
    # (`puhui.server.pool_for_workers`).
    db_pool_size: int = Field(5, ge=1, le=1000)
    db_pool_overflow: int = Field(5, ge=0, le=1000)
    # A claims-fraud model saved by `puhui simulate insurance --save-model` (理赔反欺诈): claims scoring
    # from its threshold wait for review instead of being paid straight through. None: no model.
    claims_fraud_model: str | None = None
    # The longest a market-data stream (SSE) stays open before the client reconnects with Last-Event-ID.
    market_stream_max_seconds: float = Field(300.0, gt=0, le=3600)
    # Signed notifications POSTed to the merchants' URLs, checked every `notify_interval_seconds`.
    merchant_notifications: bool = True
    # The real-time monitor (实时资金监测) follows the outbox in the server every `monitor_interval_seconds`.
    monitoring: bool = True
    monitor_interval_seconds: float = Field(1.0, gt=0, le=3600)
    # In the sandbox, liquidity providers' quotes (做市, `securities.liquidity`) are kept every so many seconds.
    market_interval_seconds: float = Field(15.0, gt=0, le=3600)
    # The overnight securities clearing (夜间清算): the leader clears the last trading day once it is over and
    # before the next session opens, snapshotting each account's close (securities.daily_assets).
    overnight_clearing: bool = True
    clearing_interval_seconds: float = Field(60.0, gt=0, le=3600)
    notify_interval_seconds: float = Field(1.0, gt=0, le=3600)
    # The identity verification provider customers verify themselves through (自助实名认证, `identity.verifier`):
    # `module:factory`, the factory called with these settings. None: the sandbox's in the sandbox, else none
    # (self-verification then answers 503 `verification_provider_unavailable`).
    verification_provider: str | None = None

    def __init__(self, **values: Any) -> None:
        # PUHUI_ENV_FILE names a dotenv file of PUHUI_* settings (the demo writes one); the environment wins.
        # A file named but not there is refused (`env_file`), never quietly replaced by the defaults.
        if "_env_file" not in values:
            values["_env_file"] = env_file()
        super().__init__(**values)

    def production_problems(self) -> list[str]:
        """Why these settings must not serve real money (empty when they may): a signing key that is
        missing, short or the public sandbox default (with which anyone forges a bank notification),
        no PII keys or session secret."""
        problems = []
        for name, default in (
            ("bank_notify_key", SANDBOX_BANK_NOTIFY_KEY),
            ("merchant_notify_key", SANDBOX_MERCHANT_NOTIFY_KEY),
            ("jwt_secret", None),
        ):
            value = getattr(self, name)
            if value == default:
                problems.append(f"PUHUI_{name.upper()} is the public sandbox default")
            elif len(value) < MIN_SECRET_LENGTH:
                problems.append(f"PUHUI_{name.upper()} must be at least {MIN_SECRET_LENGTH} characters")
        for name in ("pii_keys", "pii_index_key"):
            if not getattr(self, name):
                problems.append(f"PUHUI_{name.upper()} is not set")
        return problems

    def resolved_database_url(self) -> str:
        return self.database_url or default_database_url()


@lru_cache
def get_settings() -> Settings:
    return Settings()
