"""A demo world prepared as `puhui serve --demo` prepares it, in this process with a manual clock, for the
modules that check the demo's sandbox bank against the ledger (each takes it as a module fixture)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from puhui import clock
from puhui.demo_home import prepare_home
from puhui.payments.bank.sandbox.shared import STATE_ENV
from puhui.settings import Settings

CUSTOMERS, DAYS = 40, 6
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=clock.UTC)  # a Monday, 10:00 in Beijing: the market is open


@contextmanager
def served_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Settings, Any, clock.ManualClock]]:
    """(the app, its settings, the demo's home, the manual clock), in a fresh data directory."""
    from puhui import server

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
        patch.delenv(STATE_ENV, raising=False)
        patch.delenv("PUHUI_ENV_FILE", raising=False)
        manual = clock.ManualClock(NOW)
        with clock.using(manual):
            settings, home = prepare_home(Settings(), None)
            app = server._prepare_demo(settings, home, "http://demo.test", CUSTOMERS, DAYS, 1, lambda _: None, [])
            try:
                yield app, settings, home, manual
            finally:
                app.state.engine.dispose()
