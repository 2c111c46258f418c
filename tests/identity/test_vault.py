"""The PII vault: AES-256-GCM sealing bound to field and owner, tamper detection, key rotation,
blind indexes, and configuration errors."""

from __future__ import annotations

import base64

import pytest

from puhui.identity.errors import VaultError, VaultNotConfigured
from puhui.identity.vault import Vault, generate_key, vault_from_config

from .helpers import INDEX_KEY, K1, K2

ID = "11010519491231002X"


@pytest.fixture
def v1() -> Vault:
    return Vault.from_config(f"k1:{K1}", INDEX_KEY)


def test_seal_and_open(v1):
    sealed = v1.seal(ID, field="customer.id_number", owner="cus_1")
    assert sealed.startswith("v1.k1.") and ID not in sealed
    assert v1.open(sealed, field="customer.id_number", owner="cus_1") == ID
    # a fresh nonce every time: equal values do not give equal ciphertexts
    assert v1.seal(ID, field="customer.id_number", owner="cus_1") != sealed


def test_unicode_round_trip(v1):
    assert v1.open(v1.seal("张三丰", field="customer.name", owner="c"), field="customer.name", owner="c") == "张三丰"


def test_tampering_is_detected(v1):
    sealed = v1.seal(ID, field="customer.id_number", owner="cus_1")
    version, kid, body = sealed.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body))
    for position in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        forged = f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(flipped)).decode()}"
        with pytest.raises(VaultError):
            v1.open(forged, field="customer.id_number", owner="cus_1")
    for garbage in ("", "v1.k1", "v1.k1.!!!", "v2." + sealed[3:], f"v1.k1.{body[:10]}"):
        with pytest.raises(VaultError):
            v1.open(garbage, field="customer.id_number", owner="cus_1")


def test_a_value_moved_to_another_field_or_owner_does_not_open(v1):
    sealed = v1.seal(ID, field="customer.id_number", owner="cus_1")
    with pytest.raises(VaultError):
        v1.open(sealed, field="customer.phone", owner="cus_1")
    with pytest.raises(VaultError):
        v1.open(sealed, field="customer.id_number", owner="cus_2")


def test_a_wrong_key_does_not_open(v1):
    other = Vault.from_config(f"k1:{K2}", INDEX_KEY)  # same id, different key
    with pytest.raises(VaultError):
        other.open(v1.seal(ID, field="f", owner="o"), field="f", owner="o")
    unknown = Vault.from_config(f"k9:{K2}", INDEX_KEY)
    with pytest.raises(VaultError, match="unknown key"):
        unknown.open(v1.seal(ID, field="f", owner="o"), field="f", owner="o")


def test_rotation_keeps_old_values_readable_and_reseals_them(v1):
    old = v1.seal(ID, field="f", owner="o")
    v2 = Vault.from_config(f"k2:{K2},k1:{K1}", INDEX_KEY)
    assert v2.active == "k2"
    assert v2.open(old, field="f", owner="o") == ID  # old key still opens
    assert v2.needs_rotation(old)
    new = v2.reseal(old, field="f", owner="o")
    assert v2.key_id(new) == "k2" and not v2.needs_rotation(new)
    assert v2.reseal(new, field="f", owner="o") == new  # already current: untouched
    only_k2 = Vault.from_config(f"k2:{K2}", INDEX_KEY)
    assert only_k2.open(new, field="f", owner="o") == ID
    with pytest.raises(VaultError):
        only_k2.open(old, field="f", owner="o")  # retiring k1 before rotating would lose data


def test_blind_index_is_keyed_and_field_scoped(v1):
    again = Vault.from_config(f"k2:{K2}", INDEX_KEY)  # data keys rotate; the index key does not
    assert v1.blind_index(ID, field="id_number") == again.blind_index(ID, field="id_number")
    assert v1.blind_index(ID, field="id_number") != v1.blind_index(ID, field="phone")
    other_index = Vault.from_config(f"k1:{K1}", base64.urlsafe_b64encode(b"x" * 32).decode())
    assert other_index.blind_index(ID, field="id_number") != v1.blind_index(ID, field="id_number")
    assert ID not in v1.blind_index(ID, field="id_number") and len(v1.blind_index(ID, field="id_number")) == 64


def test_configuration_errors():
    with pytest.raises(VaultNotConfigured) as caught:
        vault_from_config("", INDEX_KEY)
    assert caught.value.code == "vault_not_configured" and caught.value.status == 500
    with pytest.raises(VaultNotConfigured):
        Vault.from_config(f"k1:{K1}", "")
    with pytest.raises(VaultError, match="32 bytes"):
        Vault.from_config("k1:" + base64.urlsafe_b64encode(b"short").decode(), INDEX_KEY)
    with pytest.raises(VaultError, match="twice"):
        Vault.from_config(f"k1:{K1},k1:{K2}", INDEX_KEY)
    with pytest.raises(VaultError):
        Vault.from_config(f"bad-id!:{K1}", INDEX_KEY)
    assert len(base64.urlsafe_b64decode(generate_key())) == 32


def test_repr_never_shows_keys(v1):
    text = repr(v1) + str(v1)
    assert K1 not in text and "1111" not in text and "k1" in text
