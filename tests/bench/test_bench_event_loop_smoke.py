"""Smoke test for `puhui bench event-loop`: a few payments over raw ASGI, each paid once and counted; no timing
asserted."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from typer.testing import CliRunner

from puhui.bench import event_loop
from puhui.cli import app
from puhui.payments.tables import payments


def test_bench_event_loop_pays_each_code_once_and_prints_its_figures() -> None:
    result = CliRunner().invoke(app, ["bench", "event-loop", "--payments", "30", "--clients", "4", "--merchants", "30"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["statuses"] == {"201": 30} and figures["health_statuses"] == {"200": 30}
    assert figures["loop_us_per_payment"] > 0 and figures["loop_us_per_health"] > 0
    assert figures["ratio_to_health"] > 0 and figures["audit_ok"] is True


def test_each_timed_payment_is_a_payment_made(monkeypatch) -> None:
    seen = {}
    real = event_loop._measure

    async def measured(app, calls, warm_up, clients):
        found = await real(app, calls, warm_up, clients)
        with app.state.engine.connect() as connection:
            seen["payments"] = connection.execute(select(func.count()).select_from(payments)).scalar_one()
        return found

    monkeypatch.setattr(event_loop, "_measure", measured)
    figures = event_loop.run(payments=6, clients=3, merchants=6, warm_up=4)
    assert figures["statuses"] == {201: 6} and seen["payments"] == 10  # the warm-up's 4 and the timed 6


def test_an_unknown_backend_is_refused_before_anything_runs() -> None:
    result = CliRunner().invoke(app, ["bench", "event-loop", "--backend", "oracle"])
    assert result.exit_code == 2 and "--backend must be sqlite or postgresql" in result.output
