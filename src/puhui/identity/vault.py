"""The PII vault: personal fields encrypted at rest with AES-256-GCM, keys from config, rotation.

A sealed value reads `v1.<key id>.<base64(nonce | ciphertext+tag)>`. The associated data binds
it to its field and owner, so a ciphertext copied onto another row or field does not open.
Lookups (log in by phone, one person one account) use a keyed blind index (HMAC-SHA256), never
the clear value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from puhui.identity.errors import VaultError, VaultNotConfigured


def generate_key() -> str:
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


@dataclass(frozen=True, repr=False)
class Vault:
    """`keys` maps key id -> 32-byte key; `active` seals, all of them open. `index_key` keys the
    blind index; `previous_index_keys` still find rows indexed before a re-index (`pii.reindex`),
    which is its own operation, apart from rotating the data keys."""

    keys: dict[str, bytes]
    active: str
    index_key: bytes
    previous_index_keys: tuple[bytes, ...] = ()

    @classmethod
    def from_config(cls, spec: str, index_key: str) -> Vault:
        """`"k2:<b64>,k1:<b64>"` — the first key is the active one; older keys still decrypt."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kid, _, encoded = part.partition(":")
            key = _decode_key(encoded)
            if not kid.isalnum():
                raise VaultError("each PII key is '<alphanumeric id>:<base64 of 32 bytes>'")
            if kid in keys:
                raise VaultError(f"PII key id {kid!r} is listed twice")
            keys[kid] = key
            order.append(kid)
        if not order:
            raise VaultNotConfigured()
        if not index_key:
            raise VaultNotConfigured("No blind-index key is configured (PUHUI_PII_INDEX_KEY)")
        index_keys = [_decode_key(k) for k in index_key.split(",") if k.strip()]  # "new,old": old still finds
        return cls(keys, order[0], index_keys[0], tuple(index_keys[1:]))

    def __repr__(self) -> str:  # never print key material (tracebacks, logs)
        return f"Vault(active={self.active!r}, keys={sorted(self.keys)!r})"

    def seal(self, clear: str, *, field: str, owner: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, clear.encode(), _aad(field, owner))
        return f"v1.{self.active}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, *, field: str, owner: str) -> str:
        try:
            version, kid, body = sealed.split(".", 2)
            raw = base64.urlsafe_b64decode(body)
            if version != "v1" or kid not in self.keys:
                raise VaultError(f"unknown key {kid!r}")
            return AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], _aad(field, owner)).decode()
        except (ValueError, InvalidTag):
            raise VaultError(f"the sealed {field} does not open") from None

    def key_id(self, sealed: str) -> str:
        parts = sealed.split(".", 2)
        if len(parts) != 3:
            raise VaultError("not a sealed value")
        return parts[1]

    def needs_rotation(self, sealed: str) -> bool:
        return self.key_id(sealed) != self.active

    def reseal(self, sealed: str, *, field: str, owner: str) -> str:
        """The same clear value sealed under the active key (key rotation)."""
        if not self.needs_rotation(sealed):
            return sealed
        return self.seal(self.open(sealed, field=field, owner=owner), field=field, owner=owner)

    def blind_index(self, value: str, *, field: str) -> str:
        """A keyed hash for equality lookups (log in by phone, one person one customer)."""
        return hmac.new(self.index_key, f"{field}:{value}".encode(), hashlib.sha256).hexdigest()

    def blind_indexes(self, value: str, *, field: str) -> list[str]:
        """The value's index under the current key and every previous one (for lookups while a
        re-index is under way)."""
        return [
            hmac.new(k, f"{field}:{value}".encode(), hashlib.sha256).hexdigest()
            for k in (self.index_key, *self.previous_index_keys)
        ]


@lru_cache(maxsize=8)
def vault_from_config(spec: str, index_key: str) -> Vault:
    """The vault for a key spec, built once (keys are decoded and checked on first use)."""
    if not spec.strip():
        raise VaultNotConfigured()
    return Vault.from_config(spec, index_key)


def _decode_key(encoded: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
    except ValueError:
        raise VaultError("a PII key must be base64") from None
    if len(key) != 32:
        raise VaultError("a PII key must be 32 bytes (AES-256)")
    return key


def _aad(field: str, owner: str) -> bytes:
    return f"puhui:{field}:{owner}".encode()
