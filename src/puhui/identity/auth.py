"""Authentication secrets: customer passwords (Argon2id), session tokens (JWT, HS256), and API keys
and staff tokens (random, shown once, kept as SHA-256 and found by their prefix).

Token expiry is judged by `puhui.clock`, not the system clock, so tests and the simulator can move
time. Nothing here logs or returns a secret except at the moment it is minted.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from jwt.algorithms import HMACAlgorithm
from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.identity.errors import AuthNotConfigured, CredentialNotFound, TokenExpired
from puhui.identity.models import Role
from puhui.identity.tables import credentials

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "puhui"
JWT_MIN_SECRET = 32
TOKEN_PREFIX = "puhui"
# Token kinds: merchant and partner API keys, staff tokens. The kind is part of the token text.
KINDS = {Role.merchant: "mk", Role.partner: "pk"}
STAFF_KIND = "st"

# Argon2id with the library's RFC 9106 "low memory" defaults (t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()
_dummy_hash: str | None = None
# Argon2id takes 64 MiB a hash: at most this many run at once, so a burst of log-ins queues instead of
# taking gigabytes (80 parallel log-ins took 2.5 GiB).
MAX_CONCURRENT_HASHES = 4
_hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)


def set_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the hasher (tests use cheaper parameters); returns the previous one."""
    global _hasher, _dummy_hash
    previous, _hasher, _dummy_hash = _hasher, hasher, None
    return previous


def hash_password(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the account exists: an unknown phone checks a dummy hash."""
    global _dummy_hash
    if stored is None:
        _dummy_hash = _dummy_hash or hash_password(secrets.token_urlsafe(16))
        stored = _dummy_hash
        password = password + "\x00unknown"
    try:
        with _hashing:
            return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


# -- session tokens (JWT) -----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionToken:
    token: str
    expires_at: dt.datetime
    session_id: str  # the token's `jti`: its row in `customer_sessions` (see `sessions.start`)


@dataclass(frozen=True)
class SessionClaims:
    """What a valid session token says: who, in which role, under which session."""

    subject: str
    role: str
    session_id: str


def issue_session(secret: str, ttl_seconds: int, subject: str, role: str = Role.customer) -> SessionToken:
    """A short-lived HS256 JWT: `sub`, `role`, `iat`, `exp`, `iss`, `jti`."""
    _check_secret(secret)
    now = clock.now()
    expires = now + dt.timedelta(seconds=ttl_seconds)
    claims = {
        "sub": subject,
        "role": str(role),
        "iss": JWT_ISSUER,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return SessionToken(jwt.encode(claims, secret, algorithm=JWT_ALGORITHM), expires, claims["jti"])


class _CheckedKeyHMAC(HMACAlgorithm):
    """HS256 whose checks of the key (not empty, not a PEM, SSH or DER key) run once a secret: PyJWT's run
    them at every decode, a third of the time of verifying a token the first time it is seen."""

    @functools.lru_cache(maxsize=4)  # noqa: B019 - one instance, for the life of the process
    def prepare_key(self, key: str | bytes) -> bytes:
        return super().prepare_key(key)


def _decoder() -> jwt.PyJWT:
    decoder = jwt.PyJWT()
    signatures = decoder._jws  # PyJWT's own JWS of this instance (a test fails if it moves)
    signatures.unregister_algorithm(JWT_ALGORITHM)
    signatures.register_algorithm(JWT_ALGORITHM, _CheckedKeyHMAC(HMACAlgorithm.SHA256))
    return decoder


_DECODER = _decoder()


def read_session(secret: str, token: str) -> SessionClaims | None:
    """The claims of a validly signed token; None if it is not ours; TokenExpired once past `exp`.
    Whether its session is still open is the caller's question (`sessions.is_live`)."""
    if not secret:
        return None
    _check_secret(secret)
    claims = _signed_claims(secret, token)
    if claims is None:
        return None
    subject, role, session_id, expires = claims
    if expires <= int(clock.now().timestamp()):
        raise TokenExpired()
    return SessionClaims(subject, role, session_id)


@functools.lru_cache(maxsize=8192)
def _signed_claims(secret: str, token: str) -> tuple[str, str, str, int] | None:
    """The subject, role, session and expiry of a token signed with `secret` for a customer, else None.
    A pure function of its arguments, so it is cached: verifying and decoding took 6% of a payment's
    server time, and an app calls many times with one token. Expiry is judged by the caller, every time,
    by `puhui.clock`."""
    try:
        claims = _DECODER.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            issuer=JWT_ISSUER,
            options={
                "require": ["sub", "role", "exp", "iat", "iss", "jti"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError:
        return None
    subject, role, session_id, expires = claims["sub"], claims["role"], claims["jti"], claims["exp"]
    if role != Role.customer or not (type(expires) is int and isinstance(subject, str) and isinstance(session_id, str)):
        return None
    return subject, str(role), session_id, expires


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def _check_secret(secret: str) -> None:
    if len(secret) < JWT_MIN_SECRET:
        raise AuthNotConfigured(f"PUHUI_JWT_SECRET must be at least {JWT_MIN_SECRET} characters")


# -- API keys and staff tokens --------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mint_credential(uow: UnitOfWork, *, subject_id: str, role: Role, created_by: str) -> str:
    """Create an API key (merchant, partner) or staff token; returns the token, the only time it exists in clear."""
    kind = KINDS.get(role, STAFF_KIND)
    prefix = f"{TOKEN_PREFIX}_{kind}_{secrets.token_hex(8)}"
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    uow.execute(
        credentials.insert().values(
            prefix=prefix,
            secret_hash=_digest(token),
            kind="staff_token" if kind == STAFF_KIND else "api_key",
            subject_id=subject_id,
            role=str(role),
            created_by=created_by,
            created_at=clock.now_micros(),
        )
    )
    return token


def looks_like_credential(token: str) -> bool:
    parts = token.split("_", 3)
    return len(parts) == 4 and parts[0] == TOKEN_PREFIX and len(token) <= 128


def read_credential(connection: Connection, token: str) -> tuple[str, str] | None:
    """(subject, role) of a live API key or staff token, or None."""
    if not looks_like_credential(token):
        return None
    prefix = "_".join(token.split("_", 3)[:3])
    if len(prefix) > 32:
        return None
    row = connection.execute(
        select(credentials.c.secret_hash, credentials.c.subject_id, credentials.c.role, credentials.c.revoked_at).where(
            credentials.c.prefix == prefix
        )
    ).first()
    if row is None:
        _digest(token)  # same work either way
        return None
    if not hmac.compare_digest(row.secret_hash, _digest(token)) or row.revoked_at is not None:
        return None
    return row.subject_id, row.role


def credentials_of(connection: Connection, subject_id: str) -> list[dict]:
    """The API keys or staff tokens of a subject, by prefix (never the secret)."""
    rows = connection.execute(
        select(credentials.c.prefix, credentials.c.kind, credentials.c.created_at, credentials.c.revoked_at)
        .where(credentials.c.subject_id == subject_id)
        .order_by(credentials.c.created_at, credentials.c.prefix)
    ).mappings()
    return [
        {
            "prefix": r["prefix"],
            "kind": r["kind"],
            "created_at": clock.from_micros(r["created_at"]).isoformat(),
            "revoked": r["revoked_at"] is not None,
        }
        for r in rows
    ]


def revoke_credential(uow: UnitOfWork, subject_id: str, prefix: str) -> dict:
    """Revoke one key or token of `subject_id` at once (a replay changes nothing)."""
    row = uow.execute(
        select(credentials.c.revoked_at).where(credentials.c.prefix == prefix, credentials.c.subject_id == subject_id)
    ).first()
    if row is None:
        raise CredentialNotFound(f"no credential {prefix!r} for {subject_id}")
    if row[0] is None:
        uow.execute(credentials.update().where(credentials.c.prefix == prefix).values(revoked_at=clock.now_micros()))
    return {"prefix": prefix, "revoked": True}


def subject_of_credential(connection: Connection, prefix: str) -> tuple[str, str] | None:
    row = connection.execute(
        select(credentials.c.subject_id, credentials.c.role).where(credentials.c.prefix == prefix)
    ).first()
    return (row[0], row[1]) if row else None
