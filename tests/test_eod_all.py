"""`puhui eod --date D`: every business form's end of day in one run, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import reading
from puhui.eod.tables import eod_runs

runner = CliRunner()


def completed(engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = connection.execute(select(eod_runs.c.job, eod_runs.c.business_date)).all()
    return {job: str(day) for job, day in rows}


def test_one_command_runs_every_job_for_the_date_once(db_url, engine, clock):
    answer = runner.invoke(app, ["eod", "--date", "2026-01-04", "--db", db_url])
    assert answer.exit_code == 0, answer.output
    ran = json.loads(answer.output)
    assert list(ran) == ["lending", "supplychain", "money_market", "funds", "insurance"]
    jobs = completed(engine)
    assert jobs == dict.fromkeys(
        ("lending", "supplychain.mature", "wealth.mmf", "wealth.funds", "insurance.reserves"), "2026-01-04"
    )
    again = runner.invoke(app, ["eod", "--date", "2026-01-04", "--db", db_url])
    assert again.exit_code == 0, again.output
    assert completed(engine) == jobs


def test_a_future_date_is_refused_and_runs_nothing(db_url, engine, clock):
    answer = runner.invoke(app, ["eod", "--date", "2026-01-06", "--db", db_url])
    assert answer.exit_code == 2 and "business_date_in_future" in answer.output, answer.output
    assert completed(engine) == {}
    bad = runner.invoke(app, ["eod", "--date", "2026-13-01", "--db", db_url])
    assert bad.exit_code == 2, bad.output
