"""`puhui eod --date D`: every business form's end of day in one run, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select
from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import reading
from puhui.eod.tables import eod_runs
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.shared import STATE_ENV, SharedSandboxBank

from .wealth.mmf_world import World, at

runner = CliRunner()

# The integers each job may answer: counts. Every other number is money (or fund units), a decimal string.
COUNTS = {
    "reconciliation": {"open"},
    "settlement": set(),
    "lending": {"loans", "transfers"},
    "supplychain": {"due", "paid", "overdue", "still_overdue"},  # receivables, not money
    "money_market": {"confirmed", "settled", "holders", "paid_holders"},
    "funds": {"purchases_confirmed", "redemptions_confirmed", "redemptions_settled", "waiting_for_nav"},
    "insurance": {"insurers", "transfers"},
}


def completed(engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = connection.execute(select(eod_runs.c.job, eod_runs.c.business_date)).all()
    return {job: str(day) for job, day in rows}


def test_one_command_runs_every_job_for_the_date_once(db_url, engine, clock, monkeypatch, tmp_path):
    state = tmp_path / "bank.json"  # the sandbox bank the demo's server keeps: reconciliation asks it
    SharedSandboxBank.adopt(state, SandboxBank("eod-all-bank-key-0123456789"), "eod-all-bank-key-0123456789")
    monkeypatch.delenv("PUHUI_ENV_FILE", raising=False)
    monkeypatch.setenv(STATE_ENV, str(state))
    answer = runner.invoke(app, ["eod", "--date", "2026-01-04", "--db", db_url])
    assert answer.exit_code == 0, answer.output
    ran = json.loads(answer.output)
    assert list(ran) == [
        "reconciliation",
        "settlement",
        "lending",
        "supplychain",
        "money_market",
        "funds",
        "insurance",
    ]
    jobs = completed(engine)
    assert jobs == dict.fromkeys(
        (
            "reconciliation",
            "settlement",
            "lending",
            "supplychain.mature",
            "wealth.mmf",
            "wealth.funds",
            "insurance.reserves",
        ),
        "2026-01-04",
    )
    again = runner.invoke(app, ["eod", "--date", "2026-01-04", "--db", db_url])
    assert again.exit_code == 0, again.output
    assert completed(engine) == jobs


def test_a_future_date_or_today_is_refused_and_runs_nothing(db_url, engine, clock):
    answer = runner.invoke(app, ["eod", "--date", "2026-01-06", "--db", db_url])
    assert answer.exit_code == 2 and "business_date_in_future" in answer.output, answer.output
    assert completed(engine) == {}
    today = runner.invoke(app, ["eod", "--date", "2026-01-05", "--db", db_url])  # 09:30: the day goes on
    assert today.exit_code == 2 and today.output.startswith("business_date_not_over: "), today.output
    assert completed(engine) == {}
    bad = runner.invoke(app, ["eod", "--date", "2026-13-01", "--db", db_url])
    assert bad.exit_code == 2, bad.output


def integers(answer: object, key: str = "") -> list[str]:
    """The keys of every integer (not bool) anywhere in `answer`."""
    if isinstance(answer, dict):
        return [found for k, v in answer.items() for found in integers(v, k)]
    if isinstance(answer, list):
        return [found for item in answer for found in integers(item, key)]
    return [key] if isinstance(answer, int) and not isinstance(answer, bool) else []


def test_every_job_prints_money_as_decimal_strings_as_the_api_does(db_url, engine, clock):
    world = World(engine, clock)
    investor = world.customer(fen=2_000_000)
    world.subscribe(investor, 1_000_000)  # Monday: confirmed with Tuesday's run, earns Tuesday's income
    clock.set(at("2026-01-06", "00:30"))  # Monday is over
    monday = runner.invoke(app, ["eod", "--date", "2026-01-05", "--db", db_url])
    assert monday.exit_code == 0, monday.output
    clock.set(at("2026-01-07", "00:30"))
    fresh = runner.invoke(app, ["wealth", "eod", "--date", "2026-01-06", "--db", db_url])
    assert fresh.exit_code == 0, fresh.output
    again = runner.invoke(app, ["eod", "--date", "2026-01-06", "--db", db_url])  # the fund-days from storage
    assert again.exit_code == 0, again.output
    answers = [json.loads(monday.stdout), json.loads(fresh.stdout), json.loads(again.stdout)]  # stderr: notes
    for answer in answers:
        for job, ran in answer.items():
            assert set(integers(ran)) <= COUNTS[job], (job, ran)
    [zero] = answers[0]["money_market"]
    assert (zero["units"], zero["paid"], zero["distributed"], zero["residue"]) == ("0.00",) * 4
    [paid], [stored] = answers[1]["money_market"], answers[2]["money_market"]
    assert (paid["already_done"], stored["already_done"]) == (False, True)
    assert {**stored, "already_done": False} == paid  # the same figures, fresh or read back
    assert (paid["holders"], paid["units"]) == (1, "10000.00")
    income = {field: Decimal(paid[field]) for field in ("paid", "distributed", "residue")}
    assert income["paid"] > 0 and income["paid"] + income["residue"] == income["distributed"]
    for field in ("units", "paid", "distributed", "residue"):
        assert Decimal(paid[field]) == Decimal(paid[field]).quantize(Decimal("0.01")), (field, paid[field])
