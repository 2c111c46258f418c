"""The reserve end of day never moves an insurer's books backwards, on SQLite and PostgreSQL.

An insurer onboarded after day D has no reserve run for D. Once the job has run D..D+4, running D or
D-1 again (both completed) only answers: no insurer runs, no transfer posts, the ledger's UPR stays
equal to what the reserves report says for the latest day, and the audit passes. A date before an
insurer's latest run never runs that insurer. Crash recovery still works: a date whose step ran for
some insurers and was never recorded as completed runs the missing insurers (and only those)."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from puhui.cli import app as puhui_cli
from puhui.db import reading, transaction
from puhui.eod import runs as eod_runs
from puhui.eod.errors import BusinessDateClosed
from puhui.insurance.reserves import service
from puhui.insurance.reserves.tables import insurance_reserve_runs
from tests.insurance.test_reserves import assert_audit_clean, balance, policy, seed, transfer_count

D = dt.date
DAY = D(2026, 1, 2)  # D: the job ran D-1 and D before the insurer existed, then D+1..D+4 with it
LATE = "ptn_reserves_late"
FIRST, SECOND = "ptn_reserves_first", "ptn_reserves_second"


def reserve_rows(engine, insurer: str) -> list[D]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        query = insurance_reserve_runs.select().where(insurance_reserve_runs.c.insurer_id == insurer)
        return sorted(D.fromisoformat(str(r.business_date)) for r in connection.execute(query))


def upr_reported(engine, insurer: str, day: D) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        shown = service.reserves_json(connection, insurer, day)
    return int(shown["upr"].replace(".", ""))


def test_rerunning_a_completed_date_before_an_insurer_was_onboarded_moves_nothing(engine, clock):
    clock.set(dt.datetime(2026, 1, 7, 1, 30, tzinfo=dt.UTC))  # business date 2026-01-07
    before = DAY - dt.timedelta(days=1)
    assert service.run_reserves(engine, before)["insurers"] == 0  # no insurer yet
    assert service.run_reserves(engine, DAY)["insurers"] == 0
    # onboarded on D+1: 598.00 written on two policies, one cancelled within cooling-off (299.00 back)
    sold = DAY + dt.timedelta(days=1)
    start = sold + dt.timedelta(days=1)
    seed(engine, [policy(LATE, 29900, start, sold), policy(LATE, 29900, start, sold, start, 29900)])
    last = DAY + dt.timedelta(days=4)
    caught = service.run_reserves(engine, last)
    assert [c["business_date"] for c in caught["caught_up"]] == ["2026-01-03", "2026-01-04", "2026-01-05"]
    assert reserve_rows(engine, LATE) == [DAY + dt.timedelta(days=n) for n in range(1, 5)]
    upr = balance(engine, LATE, "upr")
    assert upr == upr_reported(engine, LATE, last) and upr > 0
    moved = transfer_count(engine)

    for day in (DAY, before):
        again = service.run_reserves(engine, day)
        assert again == {
            "business_date": day.isoformat(),
            "insurers": 0,
            "transfers": 0,
            "already_done": True,
            "caught_up": [],
        }
    runner = CliRunner()
    db = engine.url.render_as_string(hide_password=False)
    for day in (DAY, before):
        ran = runner.invoke(puhui_cli, ["insurance", "eod", "--date", day.isoformat(), "--db", db])
        assert ran.exit_code == 0, ran.output
        assert '"transfers": 0' in ran.output and '"already_done": true' in ran.output

    assert transfer_count(engine) == moved
    assert balance(engine, LATE, "upr") == upr == upr_reported(engine, LATE, last)
    assert balance(engine, LATE, "receivable") == 59800 - 29900  # written less refunded
    assert reserve_rows(engine, LATE) == [DAY + dt.timedelta(days=n) for n in range(1, 5)]  # none for D, D-1
    assert_audit_clean(engine)


def test_a_date_before_an_insurers_latest_run_never_runs_it(engine, clock):
    clock.set(dt.datetime(2026, 1, 7, 1, 30, tzinfo=dt.UTC))
    seed(engine, [policy(LATE, 36500, D(2026, 1, 2), D(2026, 1, 1))])
    service.run_reserves(engine, D(2026, 1, 4))  # the first run: 2026-01-04 alone
    upr, moved = balance(engine, LATE, "upr"), transfer_count(engine)
    # refused by the rule of every end of day; the step itself, called for it, passes the insurer by
    with pytest.raises(BusinessDateClosed):
        service.run_reserves(engine, D(2026, 1, 3))
    answer = transaction(engine, lambda uow: service.run_day(uow, D(2026, 1, 3)))
    assert answer == {"business_date": "2026-01-03", "insurers": 0, "transfers": 0, "already_done": True}
    assert (transfer_count(engine), balance(engine, LATE, "upr")) == (moved, upr)
    assert reserve_rows(engine, LATE) == [D(2026, 1, 4)]
    assert upr == upr_reported(engine, LATE, D(2026, 1, 4)) == 36500 - 300
    assert_audit_clean(engine)


def test_a_crashed_step_runs_the_missing_insurers_once(engine, clock):
    clock.set(dt.datetime(2026, 1, 7, 1, 30, tzinfo=dt.UTC))
    day = D(2026, 1, 2)
    seed(engine, [policy(FIRST, 36500, D(2026, 1, 1), D(2025, 12, 31))])
    # the step committed for FIRST, then the run crashed before the date was recorded
    partial = transaction(engine, lambda uow: service.run_day(uow, day))
    assert (partial["insurers"], partial["transfers"]) == (1, 2)
    with reading(engine) as connection:
        assert not eod_runs.completed(connection, service.JOB, day)
    first_books, moved = balance(engine, FIRST, "upr"), transfer_count(engine)
    # SECOND's sale of that day had not been reached: the re-run runs it alone and records the date
    seed(engine, [policy(SECOND, 73000, D(2026, 1, 2), D(2026, 1, 1))])
    resumed = service.run_reserves(engine, day)
    assert (resumed["insurers"], resumed["transfers"], resumed["already_done"]) == (1, 2, False)
    assert transfer_count(engine) == moved + 2
    assert balance(engine, FIRST, "upr") == first_books == upr_reported(engine, FIRST, day) == 36500 - 200
    assert balance(engine, SECOND, "upr") == upr_reported(engine, SECOND, day) == 73000 - 200
    with reading(engine) as connection:
        assert eod_runs.completed(connection, service.JOB, day)
    assert service.run_reserves(engine, day)["transfers"] == 0
    assert transfer_count(engine) == moved + 2

    # a crash after the whole step, before the record: the re-run moves nothing and records the date
    nxt = day + dt.timedelta(days=1)
    assert transaction(engine, lambda uow: service.run_day(uow, nxt))["insurers"] == 2
    moved = transfer_count(engine)
    again = service.run_reserves(engine, nxt)
    assert (again["insurers"], again["transfers"], again["already_done"]) == (0, 0, True)
    assert transfer_count(engine) == moved
    with reading(engine) as connection:
        assert eod_runs.completed(connection, service.JOB, nxt)
    assert balance(engine, SECOND, "upr") == upr_reported(engine, SECOND, nxt)
    assert_audit_clean(engine)
