"""End of day: a second run for the same date changes nothing; the SQL rules agree with the pure
models; refusals (bad input) change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from puhui.db import reading
from puhui.lending import eod
from puhui.lending.delinquency import delinquency_bucket, loan_class
from puhui.lending.errors import (
    AmountOutOfRange,
    LoanNotFound,
    RateAboveCap,
    RepaymentExceedsOwed,
    TermOutOfRange,
)
from puhui.lending.service import instalments
from puhui.money import format_minor

from .lending_world import MONTHLY, World, day_over, snapshot


def test_second_run_for_a_date_changes_nothing(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    payer, skipper = w.customer(), w.customer()
    good = w.loan(payer, "cash-12", 9_000_00, 6)
    bad = w.loan(skipper, "cash-12", 7_000_00, 6)
    with reading(engine) as connection:
        first_due = instalments(connection, good)[0]["due_day"]
    while w.today().toordinal() < first_due + 12:  # past grace: overdue, penalties, M1
        if w.today().toordinal() == first_due:
            w.repay(good, payer)
        assert w.eod().ran
        w.next_day()
    result = w.eod()
    assert result.ran and result.transfers > 0
    before = snapshot(engine)
    again = w.eod(result.business_date)
    assert not again.ran and again.transfers == result.transfers
    assert snapshot(engine) == before
    # the EOD posted the day's accrual and penalty under deterministic ids
    with reading(engine) as connection:
        stamp = result.business_date.strftime("%Y%m%d")
        ids = set(connection.execute(text("SELECT id FROM transfers WHERE id LIKE :p"), {"p": f"%{stamp}"}).scalars())
    assert {f"acr.{good}.{stamp}", f"acr.{bad}.{stamp}", f"pen.{bad}.{stamp}"} <= ids


def test_sql_buckets_and_classes_match_the_models(engine):
    with engine.connect() as connection:
        for days in list(range(100)) + [120, 180, 181, 200, 360, 361, 500]:
            row = connection.execute(
                text(f"SELECT {eod.BUCKET_SQL}, {eod.CLASS_SQL} FROM (SELECT :n AS days_past_due) t"), {"n": days}
            ).one()
            assert tuple(row) == (delinquency_bucket(days), loan_class(days).value), days


def test_bad_input_changes_nothing(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    alice, bob = w.customer(), w.customer()
    loan = w.loan(alice, "cash-12", 5_000_00, 6)
    w.eod()
    before = snapshot(engine)
    from puhui.lending import repayments, service

    refusals = [
        (AmountOutOfRange, lambda uow: service.apply(uow, alice, "cash-12", 999_99, 6)),
        (AmountOutOfRange, lambda uow: service.apply(uow, alice, "cash-12", 50_000_01, 6)),
        (TermOutOfRange, lambda uow: service.apply(uow, alice, "cash-12", 5_000_00, 13)),
        (RateAboveCap, lambda uow: service.create_product(uow, {**MONTHLY, "code": "greedy", "annual_rate": "0.30"})),
        (
            RateAboveCap,
            lambda uow: service.create_product(uow, {**MONTHLY, "code": "fees", "upfront_fee_rate": "0.05"}),
        ),
        (repayments.NothingDue, lambda uow: repayments.repay(uow, loan, alice, 1, "scheduled")),  # nothing due yet
        (LoanNotFound, lambda uow: repayments.repay(uow, loan, bob, None, "early_full")),  # as if none
        (repayments.PayoffMismatch, lambda uow: repayments.repay(uow, loan, alice, 10_000_00, "early_full")),
    ]
    for error, work in refusals:
        with pytest.raises(error):
            w.run(work)
        assert snapshot(engine) == before, error
    # on the due date, one fen more than owed is refused; exactly what is owed is taken
    with reading(engine) as connection:
        first = instalments(connection, loan)[0]
    while w.today().toordinal() < first["due_day"]:
        w.next_day()
    owed = first["principal"] + first["interest"]
    before = snapshot(engine)
    with pytest.raises(RepaymentExceedsOwed):
        w.repay(loan, alice, owed + 1)
    assert snapshot(engine) == before
    assert w.repay(loan, alice, owed)["principal"] == format_minor(first["principal"], 2)


def test_cli_products_and_end_of_day(db_url, engine, clock, tmp_path):
    import json

    from typer.testing import CliRunner

    from puhui.cli import app

    runner = CliRunner()
    good, usury = tmp_path / "good.json", tmp_path / "usury.json"
    good.write_text(json.dumps(MONTHLY), encoding="utf-8")
    usury.write_text(json.dumps({**MONTHLY, "code": "usury", "annual_rate": "0.40"}), encoding="utf-8")
    added = runner.invoke(app, ["lending", "products", "add", str(good), "--db", db_url])
    assert added.exit_code == 0, added.output
    refused = runner.invoke(app, ["lending", "products", "add", str(usury), "--db", db_url])
    assert refused.exit_code == 2 and "rate_above_cap" in refused.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    garbled = runner.invoke(app, ["lending", "products", "add", str(broken), "--db", db_url])
    assert garbled.exit_code == 2 and garbled.output.startswith("invalid_input: the product file is not JSON")
    listed = runner.invoke(app, ["lending", "products", "list", "--db", db_url])
    assert [p["code"] for p in json.loads(listed.output)] == ["cash-12"]
    w = World(engine, clock)
    w.loan(w.customer(), "cash-12", 3_000_00, 6)
    day_over(clock)  # 2026-01-05 is over
    first = runner.invoke(app, ["lending", "eod", "--date", "2026-01-05", "--db", db_url])
    again = runner.invoke(app, ["lending", "eod", "--date", "2026-01-05", "--db", db_url])
    assert json.loads(first.output)["already_done"] is False and json.loads(again.output)["already_done"] is True
