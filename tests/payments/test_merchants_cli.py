"""`puhui merchants …` on both backends: list, show (masked), set-fee, suspend and activate, with
bad input refused and nothing changed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import transaction
from puhui.identity import org
from puhui.identity.vault import Vault
from tests.identity.helpers import INDEX_KEY, K1, MERCHANT

runner = CliRunner()


@pytest.fixture
def merchant(engine, db_url, monkeypatch):
    monkeypatch.setenv("PUHUI_PII_KEYS", f"k1:{K1}")
    monkeypatch.setenv("PUHUI_PII_INDEX_KEY", INDEX_KEY)
    from puhui.settings import get_settings

    get_settings.cache_clear()
    vault = Vault.from_config(f"k1:{K1}", INDEX_KEY)
    data = org.prepare_merchant(**MERCHANT)
    merchant_id, _ = transaction(engine, lambda uow: org.create_merchant(uow, vault, data, org_actor()))
    yield merchant_id
    get_settings.cache_clear()


def org_actor():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Actor:
        id: str = "test"
        role: str = "admin"

    return Actor()


def run(*args: str):
    return runner.invoke(app, ["merchants", *args])


def test_merchant_commands(engine, db_url, merchant):
    listed = run("list", "--db", db_url)
    assert listed.exit_code == 0 and merchant in listed.output and "(default)" in listed.output
    shown = run("show", merchant, "--db", db_url)
    assert shown.exit_code == 0, shown.output
    view = json.loads(shown.output)
    assert view["settlement"]["account"] != MERCHANT["settlement_account"] and view["fee_rate_bp"] is None
    assert run("set-fee", merchant, "38", "--db", db_url).exit_code == 0
    assert json.loads(run("show", merchant, "--db", db_url).output)["fee_rate_bp"] == 38
    refused = run("set-fee", merchant, "5000", "--db", db_url)
    assert refused.exit_code == 2 and "invalid_input" in refused.output
    assert json.loads(run("show", merchant, "--db", db_url).output)["fee_rate_bp"] == 38
    assert run("set-fee", merchant, "--default", "--db", db_url).exit_code == 0
    assert json.loads(run("show", merchant, "--db", db_url).output)["fee_rate_bp"] is None
    assert run("suspend", merchant, "--db", db_url).exit_code == 0
    assert json.loads(run("show", merchant, "--db", db_url).output)["status"] == "suspended"
    assert run("activate", merchant, "--db", db_url).exit_code == 0
    unknown = run("suspend", "mch_nobody", "--db", db_url)
    assert unknown.exit_code == 2 and "merchant_not_found" in unknown.output
