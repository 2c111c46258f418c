"""`puhui serve --demo` keeps its sandbox bank in the demo's directory and names the file in the demo's settings,
so `puhui reconcile` and `puhui settle` on the demo ask the bank that took the day's orders (a new-user pass:
they asked a new, empty bank, and every top-up of the day was reported missing at the bank). A restarted
server opens the same bank; a demo whose keys were lost starts a new one."""

from __future__ import annotations

from puhui.demo_home import BANK_STATE_NAME, prepare_home, read_env
from puhui.payments.bank import worker as bank_worker
from puhui.payments.bank.channel import BankOrder, OrderKind
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_RICH
from puhui.payments.bank.sandbox.shared import STATE_ENV, SharedSandboxBank
from puhui.payments.cli import kept_bank_state
from puhui.settings import Settings


def test_the_demo_keeps_its_bank_where_every_command_finds_it(monkeypatch, tmp_path, clock):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv(STATE_ENV, raising=False)
    settings, home = prepare_home(Settings(), None)
    assert home.bank_state == home.directory / BANK_STATE_NAME
    assert read_env(home.env_file)[STATE_ENV] == str(home.bank_state)
    monkeypatch.setenv("PUHUI_ENV_FILE", str(home.env_file))
    assert kept_bank_state(None) == home.bank_state == kept_bank_state(home.database_url)
    assert kept_bank_state(f"sqlite:///{tmp_path / 'other.db'}") is None  # not the kept bank's database

    served = bank_worker.keep_bank(None, settings, home.bank_state, SandboxBank(settings.bank_notify_key))  # type: ignore[arg-type]
    assert isinstance(served, SharedSandboxBank)
    served.submit(BankOrder("tu_1", OrderKind.debit_card, CARD_RICH, 100_00))
    restarted = bank_worker.keep_bank(None, settings, home.bank_state)  # type: ignore[arg-type]
    assert [o.order_id for o in restarted.orders()] == ["tu_1"]

    # another database than the demo's own: no kept bank
    _, other = prepare_home(Settings(), f"sqlite:///{tmp_path / 'mine.db'}")
    assert other.bank_state is None


def test_a_demo_whose_keys_are_lost_forgets_its_bank(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    _, home = prepare_home(Settings(), None)
    assert home.bank_state is not None
    home.bank_state.write_text("{}", encoding="utf-8")
    home.env_file.unlink()
    prepare_home(Settings(), None)
    assert not home.bank_state.exists()
