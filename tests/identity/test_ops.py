"""Operations around identity: the rotation CLI, demo secrets, and log redaction."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from puhui.db import reading, transaction
from puhui.identity import cli, pii, service
from puhui.identity import customers as customer_ops
from puhui.identity.errors import VaultNotConfigured
from puhui.identity.logs import install_redaction, redact
from puhui.identity.vault import Vault
from puhui.settings import Settings, get_settings

from .helpers import CARD, INDEX_KEY, K1, K2, ZHANG


@pytest.fixture
def env_settings(monkeypatch):
    def use(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"PUHUI_{name.upper()}", value)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_rotate_keys_command(engine, db_url, clock, vault, env_settings):
    data = customer_ops.prepare_registration(**{k: ZHANG[k] for k in ("name", "id_number", "phone", "password")})
    customer_id = transaction(engine, lambda uow: customer_ops.register(uow, vault, data))
    transaction(engine, lambda uow: customer_ops.bind_card(uow, vault, customer_id, CARD))
    env_settings(pii_keys=f"k2:{K2},k1:{K1}", pii_index_key=INDEX_KEY)
    runner = CliRunner()
    usage = runner.invoke(cli.app, ["key-usage", "--db", db_url])
    assert usage.exit_code == 0, usage.output
    assert "k1" in usage.output and "k2" not in usage.output.split("active")[1].split("\n", 1)[1]
    result = runner.invoke(cli.app, ["rotate-keys", "--db", db_url, "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "4 values re-sealed under k2" in result.output
    with reading(engine) as connection:
        assert pii.key_usage(connection, Vault.from_config(f"k2:{K2}", INDEX_KEY)) == {"k2": 4}


def test_rotate_keys_command_refuses_without_keys(db_url, env_settings):
    env_settings(pii_keys="", pii_index_key="")
    result = CliRunner().invoke(cli.app, ["rotate-keys", "--db", db_url])
    assert result.exit_code != 0 and isinstance(result.exception, VaultNotConfigured)


def test_create_staff_command_prints_a_working_token_once(engine, db_url, clock):
    result = CliRunner().invoke(cli.app, ["create-staff", "boss", "--role", "admin", "--db", db_url])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    from puhui.identity import auth

    with reading(engine) as connection:
        assert auth.read_credential(connection, token)[1] == "admin"


def test_demo_secrets_fill_only_what_is_missing():
    demo = service.with_demo_secrets(Settings())
    assert Vault.from_config(demo.pii_keys, demo.pii_index_key).active == "demo"
    assert len(demo.jwt_secret) >= 32
    assert service.with_demo_secrets(Settings()).pii_keys != demo.pii_keys  # ephemeral, fresh each time
    kept = service.with_demo_secrets(Settings(pii_keys=f"k1:{K1}", pii_index_key=INDEX_KEY, jwt_secret="s" * 40))
    assert (kept.pii_keys, kept.pii_index_key, kept.jwt_secret) == (f"k1:{K1}", INDEX_KEY, "s" * 40)
    with pytest.raises(VaultNotConfigured):
        pii.vault_for(Settings())  # a non-demo server never invents keys


def test_settings_repr_hides_secrets():
    text = repr(Settings(pii_keys=f"k1:{K1}", pii_index_key=INDEX_KEY, jwt_secret="s" * 40, admin_token="tok-123"))
    assert K1 not in text and INDEX_KEY not in text and "s" * 40 not in text and "tok-123" not in text


def test_redaction_masks_numbers_in_any_log_line(caplog):
    install_redaction()
    caplog.set_level(logging.INFO)
    logging.getLogger("careless").info("customer %s phone %s card %s", ZHANG["id_number"], ZHANG["phone"], CARD)
    line = caplog.records[-1].getMessage()
    assert ZHANG["id_number"] not in line and ZHANG["phone"] not in line and CARD not in line
    assert ZHANG["id_number"][:3] + "*" * 11 + ZHANG["id_number"][-4:] in line and "138****5678" in line
    # numbers that are not personal stay readable: timestamps, amounts, invalid check digits
    assert redact("at 1767576600000000 moved 12345.67") == "at 1767576600000000 moved 12345.67"
    assert redact("11010519491231002") == "11010519491231002"
