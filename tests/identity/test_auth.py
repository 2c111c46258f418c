"""Passwords (Argon2id), session tokens (HS256 JWT judged by puhui.clock), API keys and staff tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import jwt
import pytest
from argon2 import PasswordHasher

from puhui.db import reading, transaction
from puhui.identity import auth
from puhui.identity.errors import AuthNotConfigured, TokenExpired
from puhui.identity.models import Role
from puhui.identity.tables import credentials

from .helpers import JWT_SECRET


def test_production_hasher_is_argon2id_with_rfc9106_parameters():
    previous = auth.set_password_hasher(PasswordHasher())
    try:
        stored = auth.hash_password("correct horse battery")
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert auth.verify_password(stored, "correct horse battery")
        assert not auth.verify_password(stored, "correct horse batterY")
        assert not auth.needs_rehash(stored)
    finally:
        auth.set_password_hasher(previous)


def test_password_checks():
    stored = auth.hash_password("s3cret-pass")
    assert auth.verify_password(stored, "s3cret-pass")
    assert not auth.verify_password(stored, "")
    assert not auth.verify_password("not a hash", "s3cret-pass")
    assert not auth.verify_password(None, "s3cret-pass")  # unknown account: dummy work, always False
    assert auth.needs_rehash(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash("x"))


def test_session_token_round_trip_and_expiry_by_the_clock(clock):
    session = auth.issue_session(JWT_SECRET, 900, "cus_1")
    assert session.expires_at == clock.now() + dt.timedelta(seconds=900)
    claims = jwt.decode(
        session.token, JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims["sub"] == "cus_1" and claims["role"] == "customer" and claims["iss"] == "puhui"
    assert jwt.get_unverified_header(session.token)["alg"] == "HS256"
    mine = auth.SessionClaims("cus_1", "customer", session.session_id)
    assert auth.read_session(JWT_SECRET, session.token) == mine and claims["jti"] == session.session_id
    clock.advance(seconds=899)
    assert auth.read_session(JWT_SECRET, session.token) == mine
    clock.advance(seconds=1)
    with pytest.raises(TokenExpired) as caught:
        auth.read_session(JWT_SECRET, session.token)
    assert caught.value.status == 401 and caught.value.code == "token_expired"


def test_forged_tokens_are_not_ours(clock):
    now = int(clock.now().timestamp())
    claims = {"sub": "cus_1", "role": "customer", "iss": "puhui", "iat": now, "exp": now + 60, "jti": "j1"}
    assert auth.read_session(JWT_SECRET, jwt.encode(claims, "x" * 48, algorithm="HS256")) is None  # other secret
    assert auth.read_session(JWT_SECRET, jwt.encode(claims, None, algorithm="none")) is None  # alg=none
    assert auth.read_session(JWT_SECRET, jwt.encode({**claims, "role": "admin"}, JWT_SECRET, algorithm="HS256")) is None
    assert auth.read_session(JWT_SECRET, jwt.encode({**claims, "iss": "evil"}, JWT_SECRET, algorithm="HS256")) is None
    for claim in ("exp", "jti"):
        missing = {k: v for k, v in claims.items() if k != claim}
        assert auth.read_session(JWT_SECRET, jwt.encode(missing, JWT_SECRET, algorithm="HS256")) is None
    good = auth.issue_session(JWT_SECRET, 60, "cus_1").token
    head, body, signature = good.split(".")
    assert auth.read_session(JWT_SECRET, f"{head}.{body}.{signature[:-2]}AA") is None
    assert auth.read_session("", good) is None  # no secret configured: no customer tokens at all
    assert auth.read_session(JWT_SECRET, good) is not None  # verified once, and remembered by secret and token:
    assert auth.read_session("y" * 48, good) is None  # not under another secret


def test_short_secrets_are_refused(clock):
    with pytest.raises(AuthNotConfigured):
        auth.issue_session("too-short", 60, "cus_1")


def test_credentials_are_hashed_and_found_by_prefix(engine, clock):
    token = transaction(
        engine, lambda uow: auth.mint_credential(uow, subject_id="mch_1", role=Role.merchant, created_by="admin")
    )
    assert token.startswith("puhui_mk_") and len(token) > 60
    with reading(engine) as connection:
        row = connection.execute(credentials.select()).mappings().one()
        assert token not in str(dict(row)) and token.split("_", 3)[3] not in str(dict(row))
        assert row["kind"] == "api_key" and row["role"] == "merchant"
        assert auth.read_credential(connection, token) == ("mch_1", "merchant")
        assert auth.read_credential(connection, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert auth.read_credential(connection, "puhui_mk_0000000000000000_" + "x" * 43) is None
        assert auth.read_credential(connection, "not-a-key") is None
    transaction(engine, lambda uow: uow.execute(credentials.update().values(revoked_at=1)))
    with reading(engine) as connection:
        assert auth.read_credential(connection, token) is None


def _signed_by_hand(claims: dict, key: bytes) -> str:
    """An HS256 token signed with any key (PyJWT refuses to sign with a PEM key)."""
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode())
    signature = jwt.utils.base64url_encode(hmac.new(key, header + b"." + payload, hashlib.sha256).digest())
    return (header + b"." + payload + b"." + signature).decode()


def test_the_decoder_checks_its_key_once_and_still_refuses_keys_that_are_not_hmac_secrets(clock):
    """The HS256 of `auth._DECODER` keeps PyJWT's checks of the key, run once a secret."""
    pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + "A" * 40 + "\n-----END PUBLIC KEY-----\n"
    now = int(clock.now().timestamp())
    claims = {"sub": "cus_1", "role": "customer", "iss": "puhui", "iat": now, "exp": now + 60, "jti": "j1"}
    assert auth._signed_claims.__wrapped__(JWT_SECRET, _signed_by_hand(claims, JWT_SECRET.encode())) is not None
    assert auth._signed_claims.__wrapped__(pem, _signed_by_hand(claims, pem.encode())) is None
    algorithm = auth._DECODER._jws.get_algorithm_by_name("HS256")  # PyJWT's JWS of the instance, still there
    assert isinstance(algorithm, auth._CheckedKeyHMAC)
    before = auth._CheckedKeyHMAC.prepare_key.cache_info().hits
    for n in range(3):
        assert auth._signed_claims.__wrapped__(JWT_SECRET, auth.issue_session(JWT_SECRET, 60, f"cus_{n}").token)
    assert auth._CheckedKeyHMAC.prepare_key.cache_info().hits >= before + 3
