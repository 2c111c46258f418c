"""Forged money (issue 19, finding 1, critical): the bank-channel and merchant-notification keys had public
defaults and `serve` started with them, so a customer could sign a bank notification for a top-up no bank
paid. Outside the sandbox `serve` now refuses public, missing or short secrets, and the server's bank
channel knows none of the sandbox's public test cards."""

from __future__ import annotations

import sys

import pytest

from puhui import cli, server
from puhui.errors import InsecureSettings
from puhui.identity.vault import generate_key
from puhui.payments.bank import worker as bank_worker
from puhui.payments.bank.channel import BankOrder, OrderKind
from puhui.payments.bank.sandbox.plan import CARD_RICH
from puhui.settings import SANDBOX_BANK_NOTIFY_KEY, Settings, get_settings

REAL = {
    "bank_notify_key": "b" * 40,
    "merchant_notify_key": "m" * 40,
    "jwt_secret": "j" * 48,
    "pii_keys": f"k1:{generate_key()}",
    "pii_index_key": generate_key(),
}


def test_public_or_missing_secrets_stop_a_real_server():
    with pytest.raises(InsecureSettings) as refused:
        server.refuse_insecure(Settings())
    problems = refused.value.extra["problems"]
    assert "PUHUI_BANK_NOTIFY_KEY is the public sandbox default" in problems
    assert "PUHUI_MERCHANT_NOTIFY_KEY is the public sandbox default" in problems
    assert {"PUHUI_JWT_SECRET must be at least 32 characters", "PUHUI_PII_KEYS is not set"} <= set(problems)
    with pytest.raises(InsecureSettings):
        server.refuse_insecure(Settings(**{**REAL, "bank_notify_key": "short"}))
    server.refuse_insecure(Settings(**REAL))  # real secrets: it starts
    server.refuse_insecure(Settings(sandbox=True))  # the sandbox may use the public keys, and says so


def test_serve_refuses_in_one_line_and_never_listens(monkeypatch, capsys, tmp_path):
    for name in list(REAL) + ["sandbox", "env_file"]:
        monkeypatch.delenv(f"PUHUI_{name.upper()}", raising=False)
    monkeypatch.setenv("PUHUI_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setattr(server.uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    monkeypatch.setattr(sys, "argv", ["puhui", "serve"])
    get_settings.cache_clear()  # the settings of this environment, not of an earlier test
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    err = capsys.readouterr().err.strip()
    assert stopped.value.code == 2 and err.startswith("insecure_settings: ") and len(err.splitlines()) == 1, err
    assert SANDBOX_BANK_NOTIFY_KEY not in err  # names the setting, never prints a key
    get_settings.cache_clear()


def test_outside_the_sandbox_the_bank_channel_pays_no_test_card(engine):
    real = bank_worker.make_bank(engine, Settings(**REAL))
    real.submit(BankOrder("tu_real_1", OrderKind.debit_card, CARD_RICH, 50_000_00))
    sandbox = bank_worker.make_bank(engine, Settings(sandbox=True))
    sandbox.submit(BankOrder("tu_sbx_1", OrderKind.debit_card, CARD_RICH, 50_000_00))
    for bank in (real, sandbox):
        bank.deliver_due(bank.next_event_at())
    assert real.query("tu_real_1").state.value == "failed"  # no such card at a real platform's bank
    assert sandbox.query("tu_sbx_1").state.value == "succeeded"
