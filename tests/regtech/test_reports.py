"""The daily large-value transaction report (大额交易报告) on SQLite and PostgreSQL: thresholds for
natural and non-natural persons, single and cumulated, the file against its schema, the deadline
across a weekend and holidays, and a date without data refused with nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.eod.errors import BusinessDateNotOver
from puhui.errors import InvalidInput
from puhui.regtech import reports
from puhui.regtech.reports_tables import regulatory_reports

from .test_reports_world import World, china

DAY = "2025-12-31"  # a Wednesday before the New Year holiday (2026-01-01/02) and a weekend
Y = 100  # fen per yuan


@pytest.fixture
def world(engine, clock):
    w = World(engine)
    for _ in range(6):
        w.customer()
    w.merchant(), w.merchant()
    return w


def plant(w: World) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """The day's transactions; returns the expected lines: (party, direction) -> (basis, transaction ids)."""
    a, b, c, d, e, f = w.customers
    m1, m2 = w.merchants
    p1 = w.payment(a, b, 500_000 * Y, china(DAY, "09:00"))  # natural person, single, at the threshold
    w1 = w.bank(c, "credit_card", 300_000 * Y, china(DAY, "00:00"))  # withdrawals cumulated to 500,000
    w2 = w.bank(c, "credit_card", 200_000 * Y, china(DAY, "23:59"))
    w.payment(d, m1, 500_000 * Y - 1, china(DAY, "11:00"), "qr")  # one fen under: not reported, either side
    w.bank(d, "credit_card", 900_000 * Y, china(DAY, "12:00"), status="pending")  # not posted: not a transaction
    w.bank(d, "debit_card", 900_000 * Y, china("2026-01-01", "00:00"))  # the next China day
    w.payment(d, m1, 900_000 * Y, china("2025-12-30", "23:59"), "qr")  # the day before
    p3 = w.payment(e, m2, 1_500_000 * Y, china(DAY, "13:00"), "qr")  # the merchant's day: 2,100,000 cumulated
    p4 = w.payment(f, m2, 600_000 * Y, china(DAY, "14:00"), "qr")
    return {
        (a, "out"): ("single", [p1]),
        (b, "in"): ("single", [p1]),
        (c, "out"): ("cumulated", [w1, w2]),
        (e, "out"): ("single", [p3]),
        (f, "out"): ("single", [p4]),
        (m2, "in"): ("cumulated", [p3, p4]),
    }


def test_the_report_holds_exactly_the_transactions_at_or_over_the_thresholds(engine, world):
    expected = plant(world)
    made = transaction(engine, lambda uow: reports.generate(uow, dt.date.fromisoformat(DAY), "risk.one"))
    with reading(engine) as connection:
        lines = reports.parse(reports.content_of(connection, made["id"]))
    got: dict[tuple[str, str], tuple[set[str], list[str]]] = {}
    for line in lines:
        basis, ids = got.setdefault((line["party_id"], line["direction"]), (set(), []))
        basis.add(line["basis"])
        ids.append(line["transaction_id"])
    assert {k: (b, ids) for k, (b, ids) in expected.items()} == {k: (b.pop(), ids) for k, (b, ids) in got.items()}
    assert made["lines"] == len(lines) == 8 and made["status"] == "generated"
    merchant = world.merchants[1]
    types = {line["party_id"]: line["party_type"] for line in lines}
    assert types[merchant] == "non_natural" and {t for p, t in types.items() if p != merchant} == {"natural"}
    totals = {line["day_total"] for line in lines if line["party_id"] == merchant}
    assert totals == {"2100000.00"} and {line["threshold"] for line in lines if line["party_id"] == merchant} == {
        "2000000.00"
    }


def test_the_file_matches_its_documented_schema(engine, world):
    plant(world)
    made = transaction(engine, lambda uow: reports.generate(uow, dt.date.fromisoformat(DAY), "risk.one"))
    with reading(engine) as connection:
        content = reports.content_of(connection, made["id"])
    meta_header, meta, header, *_ = content.split("\n")[:-1]  # format version 2: the metadata row first
    assert meta_header.split(",") == [name for name, _ in reports.METADATA_SCHEMA]
    assert meta == f"2,large_value,{made['id']},{DAY},PUHUI,普惠平台 Puhui Platform,{made['lines']}"
    assert header.split(",") == [name for name, _ in reports.SCHEMA]
    for line in reports.parse(content):
        assert line["report_id"] == made["id"] and line["business_date"] == DAY and line["currency"] == "CNY"
        assert line["party_type"] in ("natural", "non_natural") and line["direction"] in ("in", "out")
        assert line["basis"] in ("single", "cumulated") and line["channel"] == "transfer"
        assert dt.datetime.fromisoformat(line["occurred_at"]).date().isoformat() == DAY
        assert dt.datetime.fromisoformat(line["occurred_at"]).utcoffset() == dt.timedelta(hours=8)
        for money in ("amount", "threshold", "day_total"):
            whole, cents = line[money].split(".")
            assert whole.isdigit() and len(cents) == 2
    import hashlib

    assert made["sha256"] == hashlib.sha256(content.encode()).hexdigest()
    with pytest.raises(InvalidInput, match="schema"):
        reports.parse("party,amount\nx,1\n")


@pytest.mark.parametrize(
    "day, due",
    [
        # The State Council's schedule (chinese_calendar.is_workday): New Year 01-01 … 01-03 off, Sunday 01-04 a
        # make-up working day (调休), so Sun 04, Mon 05 … Thu 08.
        ("2025-12-31", "2026-01-08"),
        ("2026-11-20", "2026-11-27"),  # a Friday: the weekend is skipped
        ("2026-01-03", "2026-01-08"),  # a holiday Saturday: counted from the next working day (Sunday 01-04)
        (
            "2026-09-30",
            "2026-10-13",
        ),  # National Day 10-01 … 10-07 off; Saturday 10-10 works: Thu 8, Fri 9, Sat 10, 12, 13
    ],
)
def test_the_deadline_is_five_working_days_after_the_date(day, due):
    assert reports.deadline(dt.date.fromisoformat(day)).isoformat() == due


def test_the_stored_report_carries_its_deadline_and_becomes_overdue_unsubmitted(engine, world, clock):
    plant(world)
    made = transaction(engine, lambda uow: reports.generate(uow, dt.date.fromisoformat(DAY), "risk.one"))
    assert made["deadline"] == "2026-01-08" and not made["overdue"]
    clock.advance(days=5)  # 2026-01-10 China
    with reading(engine) as connection:
        assert reports.get(connection, made["id"])["overdue"]
    done = transaction(engine, lambda uow: reports.submit(uow, made["id"], "risk.one"))
    assert done["status"] == "submitted" and not done["overdue"]
    with pytest.raises(reports.ReportAlreadySubmitted):
        transaction(engine, lambda uow: reports.submit(uow, made["id"], "risk.one"))


def _count(engine) -> int:
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(regulatory_reports)).scalar_one()


def test_a_date_without_data_is_refused_and_nothing_is_stored(engine, world):
    plant(world)
    with pytest.raises(reports.NoDataForDate) as refused:
        transaction(engine, lambda uow: reports.generate(uow, dt.date(2025, 12, 29), "risk.one"))
    assert refused.value.code == "report_no_data" and _count(engine) == 0
    with pytest.raises(BusinessDateNotOver, match="not over"):  # today is not over yet
        transaction(engine, lambda uow: reports.generate(uow, dt.date(2026, 1, 5), "risk.one"))
    transaction(engine, lambda uow: reports.generate(uow, dt.date.fromisoformat(DAY), "risk.one"))
    with pytest.raises(reports.ReportExists):
        transaction(engine, lambda uow: reports.generate(uow, dt.date.fromisoformat(DAY), "risk.one"))
    assert _count(engine) == 1


def test_a_day_with_data_under_every_threshold_is_refused_and_nothing_is_stored(engine, world):
    """Transactions all under the thresholds, even cumulated, are nothing to report: 422 `report_no_data`."""
    a, b, *_ = world.customers
    world.payment(a, b, 100 * Y, china("2025-12-29"))
    world.payment(a, b, 499_999 * Y, china("2025-12-29", "11:00"))  # a's out: 500,099 — b's in too: reported
    world.payment(b, a, 250_000 * Y, china("2025-12-28"))
    world.payment(b, a, 249_999 * Y, china("2025-12-28", "11:00"))  # cumulated 499,999: one yuan short
    with pytest.raises(reports.NoDataForDate) as refused:
        transaction(engine, lambda uow: reports.generate(uow, dt.date(2025, 12, 28), "risk.one"))
    assert refused.value.code == "report_no_data" and _count(engine) == 0
    made = transaction(engine, lambda uow: reports.generate(uow, dt.date(2025, 12, 29), "risk.one"))
    assert made["lines"] == 4 and _count(engine) == 1  # both payments, on a's out and b's in


moves = st.lists(
    st.tuples(st.sampled_from(["p1", "p2", "m1"]), st.sampled_from(["in", "out"]), st.integers(1, 3_000_000 * Y)),
    max_size=12,
)


@given(moves)
def test_a_group_is_reported_whole_exactly_when_its_total_reaches_the_threshold(items):
    types = {"p1": "natural", "p2": "natural", "m1": "non_natural"}
    ms = [
        reports.Movement(p, d, "transfer", f"t{i}", "payment", "p2p", "x", amount, i)
        for i, (p, d, amount) in enumerate(items)
    ]
    reported = {m.transaction_id + m.direction for m, *_ in reports.select_lines(ms, types)}
    for m in ms:
        total = sum(o.amount for o in ms if (o.party_id, o.direction) == (m.party_id, m.direction))
        assert (m.transaction_id + m.direction in reported) == (
            total >= reports.THRESHOLDS[(types[m.party_id], "transfer")]
        )
    for m, basis, limit, _ in reports.select_lines(ms, types):
        assert (basis == "single") == (m.amount >= limit)


def test_the_command_writes_the_file_and_refuses_a_date_without_data(engine, world, db_url, tmp_path):
    import json

    from typer.testing import CliRunner

    from puhui.regtech.reports_cli import app

    expected = plant(world)
    out = tmp_path / "lv.csv"
    done = CliRunner().invoke(app, ["report", "large-value", "--date", DAY, "--out", str(out), "--db", db_url])
    assert done.exit_code == 0, done.output
    made = json.loads(done.stdout)
    assert made["lines"] == sum(len(ids) for _, ids in expected.values()) == len(reports.parse(out.read_text()))
    none_out = tmp_path / "none.csv"
    args = ["report", "large-value", "--date", "2025-12-29", "--out", str(none_out), "--db", db_url]
    empty = CliRunner().invoke(app, args)  # a daily job finding nothing to report has not failed
    assert empty.exit_code == 0 and "nothing to report" in empty.stderr and "no file written" in empty.stderr
    assert json.loads(empty.stdout) == {"business_date": "2025-12-29", "status": "nothing_to_report", "lines": 0}
    assert _count(engine) == 1 and not none_out.exists()
    board = CliRunner().invoke(app, ["dashboard", "--from", DAY, "--to", DAY, "--db", db_url])
    assert (
        board.exit_code == 0 and json.loads(board.stdout)["flows"]["payments"]["count"] == 4
    )  # p1, the one under, p3, p4


def test_the_command_run_again_writes_the_stored_report_and_exits_0(engine, world, db_url, tmp_path):
    """A report generated before is not refused `report_exists`: its stored file is written (the same bytes),
    its metadata printed, and stderr says it was already generated."""
    import json

    from typer.testing import CliRunner

    from puhui.regtech.reports_cli import app

    plant(world)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    made = CliRunner().invoke(app, ["report", "large-value", "--date", DAY, "--out", str(first), "--db", db_url])
    assert made.exit_code == 0, made.output
    again = CliRunner().invoke(app, ["report", "large-value", "--date", DAY, "--out", str(second), "--db", db_url])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == json.loads(made.stdout)
    assert "already generated" in again.stderr and "report_exists" not in again.output
    assert "already generated" not in made.stderr
    assert second.read_bytes() == first.read_bytes()
    with reading(engine) as connection:
        stored = reports.content_of(connection, reports.report_id(dt.date.fromisoformat(DAY)))
    assert second.read_bytes() == stored.encode("utf-8")
    assert hashlib_of(second.read_bytes()) == json.loads(made.stdout)["sha256"]
    bare = CliRunner().invoke(app, ["report", "large-value", "--date", DAY, "--db", db_url])
    assert bare.exit_code == 0 and json.loads(bare.stdout)["id"] == json.loads(made.stdout)["id"]
    assert _count(engine) == 1


def hashlib_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
