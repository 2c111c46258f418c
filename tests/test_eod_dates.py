"""The rule of every end of day (`puhui.eod`): strict `YYYY-MM-DD` dates, a job runs a date only once it
is over (China midnight passed: today is refused, a T+1 job's date too), a date skipped before the last
run refused, a gap run day by day; the migration fills the record from the runs the jobs kept before;
reconciliation follows the rule."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from puhui import cli
from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.db.engine import create_engine_from_url
from puhui.db.migrate import upgrade
from puhui.eod import runs
from puhui.eod.dates import check_date, check_over, latest, parse_date
from puhui.eod.errors import BusinessDateInFuture, BusinessDateNotOver, DateInvalid
from puhui.eod.tables import eod_runs
from puhui.payments import reconciliation
from puhui.payments.bank.sandbox.bank import SandboxBank
from tests.payments.test_settlement import ADMIN, BANK_KEY, D, client  # noqa: F401 - the HTTP client fixture

TODAY = dt.date(2026, 1, 5)  # the clock fixture's business date


@pytest.mark.parametrize(
    "value",
    [
        86400,
        20260105,
        None,
        1.5,
        True,
        ["2026-01-05"],
        "2026/01/05",
        "20260105",
        "2026-W02-1",
        "2026-1-5",
        " 2026-01-05",
        "2026-01-05 ",
        "2026-01-05T00:00",
        "2026-02-30",
        "2026-13-01",
        "0000-01-01",
        "２０２６-01-05",
        "٢٠٢٦-01-05",
        "",
    ],
)
def test_only_iso_date_strings_are_dates(value):
    with pytest.raises(DateInvalid) as refused:
        parse_date(value)
    assert refused.value.code == "date_invalid" and refused.value.status == 422


@given(st.dates())
def test_every_calendar_date_reads_back(day):
    assert parse_date(day.isoformat()) == day


def test_a_job_runs_a_date_once_it_is_over_and_a_read_takes_today(clock):
    yesterday, tomorrow = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)
    assert check_date(TODAY) == TODAY and check_over(yesterday) == yesterday and latest() == yesterday
    for check in (check_date, check_over):
        with pytest.raises(BusinessDateInFuture):
            check(tomorrow)
    with pytest.raises(BusinessDateNotOver) as waiting:
        check_over(TODAY)
    assert (waiting.value.status, waiting.value.code) == (409, "business_date_not_over")
    assert waiting.value.extra["latest"] == yesterday.isoformat() and "2026-01-06 00:00" in str(waiting.value)
    clock.set(clock_module.china_midnight(tomorrow) - dt.timedelta(microseconds=1))  # the day's last moment
    with pytest.raises(BusinessDateNotOver):
        check_over(TODAY)
    clock.advance(microseconds=1)  # China midnight: the day is over
    assert check_over(TODAY) == TODAY and latest() == TODAY
    with pytest.raises(BusinessDateNotOver):
        check_over(tomorrow)


def test_a_date_not_over_runs_no_step_and_records_nothing(engine, clock):
    seen: list[dt.date] = []
    with pytest.raises(BusinessDateNotOver):
        runs.run_days(engine, "test.job", TODAY, seen.append)
    with pytest.raises(BusinessDateNotOver):
        transaction(engine, lambda uow: runs.run_in(uow, "test.job", TODAY, lambda u, d: seen.append(d)))
    with reading(engine) as connection:
        assert seen == [] and runs.last_completed(connection, "test.job") is None


def test_a_gap_runs_in_order_a_skipped_date_is_refused_a_date_run_runs_again(engine, clock):
    seen: list[dt.date] = []
    step = seen.append
    first = runs.run_days(engine, "test.job", TODAY - dt.timedelta(days=10), step)
    assert first.plan.days == (TODAY - dt.timedelta(days=10),) and not first.plan.again  # the first run: alone
    gap = runs.run_days(engine, "test.job", TODAY - dt.timedelta(days=7), step)
    assert [d for d, _ in gap.caught_up] == [TODAY - dt.timedelta(days=9), TODAY - dt.timedelta(days=8)]
    assert seen == [TODAY - dt.timedelta(days=n) for n in (10, 9, 8, 7)]
    with pytest.raises(runs.BusinessDateClosed) as refused:
        runs.run_days(engine, "test.job", TODAY - dt.timedelta(days=11), step)
    assert refused.value.status == 409 and refused.value.extra["last_completed"] == "2025-12-29"
    assert "its first run was for 2025-12-26, after it" in str(refused.value) and "skipped" not in str(refused.value)
    again = runs.run_days(engine, "test.job", TODAY - dt.timedelta(days=8), step)
    assert again.plan.again and again.caught_up == () and seen[-1] == TODAY - dt.timedelta(days=8)
    with pytest.raises(runs.BusinessDateGap):
        runs.run_days(engine, "test.job", TODAY - dt.timedelta(days=1), step, catch_up=False)
    with reading(engine) as connection:
        assert runs.last_completed(connection, "test.job") == TODAY - dt.timedelta(days=7)
        assert runs.last_completed(connection, "other.job") is None


def test_in_one_unit_of_work_a_failing_day_keeps_nothing(engine, clock):
    def step(uow, day):  # type: ignore[no-untyped-def]
        if day == TODAY - dt.timedelta(days=1):
            raise RuntimeError("the day fails")
        return day

    transaction(engine, lambda uow: runs.run_in(uow, "test.job", TODAY - dt.timedelta(days=3), step))
    clock.advance(days=1)  # TODAY over
    with pytest.raises(RuntimeError):
        transaction(engine, lambda uow: runs.run_in(uow, "test.job", TODAY, step))
    with reading(engine) as connection:
        assert runs.last_completed(connection, "test.job") == TODAY - dt.timedelta(days=3)


def test_the_migration_keeps_the_dates_the_jobs_already_ran(empty_db_url):
    engine = create_engine_from_url(empty_db_url)
    try:
        upgrade(engine, "0025")
        with engine.begin() as connection:
            day = dt.date(2026, 1, 4).toordinal()
            connection.execute(
                text(
                    "INSERT INTO lending_eod_runs (business_day, status, loans, transfers, started_at, "
                    "finished_at) VALUES (:d, 'done', 1, 2, 3, 4), (:e, 'running', 0, 0, 5, 5)"
                ),
                {"d": day, "e": day + 1},
            )
            connection.execute(
                text("INSERT INTO fund_eod_runs (business_date, summary, finished_at) VALUES ('2026-01-02', '{}', 7)")
            )
            connection.execute(
                text(
                    "INSERT INTO mmf_eod_runs (fund_code, business_date, summary, finished_at) "
                    "VALUES ('PH0001', '2026-01-03', '{}', 8)"
                )
            )
        upgrade(engine)
        with reading(engine) as connection:
            rows = connection.execute(select(eod_runs).order_by(eod_runs.c.job)).all()
        assert [tuple(r) for r in rows] == [
            ("lending", "2026-01-04", 4),
            ("wealth.funds", "2026-01-02", 7),
            ("wealth.mmf", "2026-01-03", 8),
        ]
    finally:
        engine.dispose()


def test_reconciliation_catches_up_day_by_day_over_http(client, engine, clock):  # noqa: F811
    clock.advance(days=1)
    first = client.post(
        "/v1/reconciliation/runs", headers={**ADMIN, "Idempotency-Key": "r1"}, json={"business_date": D.isoformat()}
    )
    assert first.status_code == 200 and first.json()["caught_up"] == [], first.text
    clock.advance(days=3)
    later = D + dt.timedelta(days=3)
    gap = client.post(
        "/v1/reconciliation/runs", headers={**ADMIN, "Idempotency-Key": "r2"}, json={"business_date": later.isoformat()}
    )
    assert gap.status_code == 200, gap.text
    assert [d["business_date"] for d in gap.json()["caught_up"]] == ["2026-01-06", "2026-01-07"]
    skipped = client.post(
        "/v1/reconciliation/runs", headers={**ADMIN, "Idempotency-Key": "r3"}, json={"business_date": "2026-01-02"}
    )
    assert (skipped.status_code, skipped.json()["code"]) == (409, "business_date_closed"), skipped.text


def test_a_statement_file_reconciles_its_one_date_only(monkeypatch, capsys, db_url, engine, clock, tmp_path):
    clock.advance(days=1)
    bank = SandboxBank(BANK_KEY)
    reconciliation.reconcile_days(engine, D, bank.statement)
    clock.advance(days=3)
    file = tmp_path / "statement.csv"
    file.write_text(bank.statement(D + dt.timedelta(days=3)), encoding="utf-8")
    argv = ["puhui", "reconcile", "--date", "2026-01-08", "--statement", str(file), "--db", db_url]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and err.startswith("business_date_gap: ") and "2026-01-06" in err, err
    with reading(engine) as connection:
        assert runs.last_completed(connection, reconciliation.RECONCILIATION_JOB) == D


def test_one_call_runs_at_most_a_year_and_a_first_date_goes_back_at_most_a_year(engine, clock):
    seen: list[dt.date] = []
    clock.advance(days=1)  # TODAY over
    with pytest.raises(runs.BusinessDateTooOld) as too_old:  # e.g. a mistyped year: decades of days to come
        runs.run_days(engine, "test.job", TODAY - dt.timedelta(days=runs.MAX_DAYS + 1), seen.append)
    assert too_old.value.code == "business_date_too_old" and seen == []
    runs.run_days(engine, "test.job", TODAY, seen.append)
    clock.advance(days=400)
    later = TODAY + dt.timedelta(days=400)
    with pytest.raises(runs.BusinessDateGap) as too_long:
        runs.run_days(engine, "test.job", later, seen.append)
    through = TODAY + dt.timedelta(days=runs.MAX_DAYS)
    assert too_long.value.extra["run_through"] == through.isoformat() and seen == [TODAY]
    assert len(runs.run_days(engine, "test.job", through, seen.append).results) == runs.MAX_DAYS
    assert runs.run_days(engine, "test.job", later, seen.append).plan.days[-1] == later
    assert seen == [TODAY + dt.timedelta(days=n) for n in range(401)]
