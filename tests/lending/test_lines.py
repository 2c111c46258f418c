"""Credit lines on SQLite and PostgreSQL: draws up to the limit succeed, past it fail with
`line_limit_exceeded` and change nothing; concurrent draws never pass the limit; repaying restores
the room; a frozen line refuses; the books stay audited and the reserve covered."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from puhui.db import reading
from puhui.errors import PuhuiError
from puhui.ledger.audit import audit
from puhui.lending import bnpl, catalog, service
from puhui.lending.lines import service as lines
from puhui.lending.lines.tables import LINE_TABLES
from puhui.payments.reserve import reserve_coverage

from .lending_world import INCOME, World
from .lending_world import snapshot as lending_snapshot


def snapshot(engine) -> dict:  # type: ignore[no-untyped-def]
    """The lending snapshot plus every credit-line row."""
    state = lending_snapshot(engine)
    with engine.connect() as connection:
        for table in LINE_TABLES:
            state[table.name] = sorted(map(tuple, connection.execute(select(table)).all()), key=repr)
    return state


def open_line(world: World, cid: str, limit: int, income: int | None = INCOME) -> str:
    return world.run(lambda uow: lines.open_line(uow, cid, "op", limit=limit, annual_income=income))["id"]


def line(world: World, line_id: str) -> dict:
    with reading(world.engine) as connection:
        return lines.get_line(connection, line_id)


def books_clean(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
        assert report.ok, report
        assert reserve_coverage(connection).covered


def refused(world: World, code: str, work) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(world.engine)
    with pytest.raises(PuhuiError) as caught:
        world.run(work)
    assert caught.value.code == code
    assert snapshot(world.engine) == before


def test_draws_up_to_the_limit_then_refused_and_repayment_restores(engine, clock):
    world = World(engine, clock)
    cid = world.customer(funds=1)
    line_id = open_line(world, cid, 1_000_00)
    assert line(world, line_id)["available"] == "1000.00"
    first = world.run(lambda uow: lines.draw(uow, line_id, cid, 600_00, "pay_later"))
    assert first["loan"]["principal"] == "600.00" and first["plan"]["annualized_rate"] == "0.000000"
    second = world.run(lambda uow: lines.draw(uow, line_id, cid, 400_00, "instalments", 3))
    assert [i["fee"] for i in second["plan"]["schedule"]] == ["3.04", "3.04", "3.04"]  # 0.76% of 400.00 a period
    assert line(world, line_id)["available"] == "0.00"
    assert world.wallet(cid) == 1_000_00 + 1
    refused(world, "line_limit_exceeded", lambda uow: lines.draw(uow, line_id, cid, 1, "pay_later"))
    world.repay(first["loan"]["id"], cid, kind="early_full")
    assert line(world, line_id)["outstanding"] == "400.00" and line(world, line_id)["available"] == "600.00"
    world.run(lambda uow: lines.draw(uow, line_id, cid, 600_00, "pay_later"))
    books_clean(engine)


def test_refusals_change_nothing(engine, clock):
    world = World(engine, clock)
    cid, other = world.customer(funds=1), world.customer(funds=1)
    line_id = open_line(world, cid, 500_00)
    refused(world, "unknown_instalment_plan", lambda uow: lines.draw(uow, line_id, cid, 100_00, "instalments", 4))
    refused(world, "unknown_instalment_plan", lambda uow: lines.draw(uow, line_id, cid, 100_00, "someday"))
    refused(world, "line_limit_exceeded", lambda uow: lines.draw(uow, line_id, cid, 500_01, "pay_later"))
    refused(world, "credit_line_not_found", lambda uow: lines.draw(uow, line_id, other, 100_00, "pay_later"))
    refused(world, "credit_line_exists", lambda uow: lines.open_line(uow, cid, "op", limit=100_00))
    refused(
        world, "credit_limit_invalid", lambda uow: lines.open_line(uow, other, "op", annual_income=INCOME)
    )  # no model, no limit
    world.run(lambda uow: lines.set_status(uow, line_id, "frozen"))
    refused(world, "credit_line_frozen", lambda uow: lines.draw(uow, line_id, cid, 100_00, "pay_later"))
    world.run(lambda uow: lines.set_status(uow, line_id, "active"))
    world.run(lambda uow: lines.change_limit(uow, line_id, 50_00))
    refused(world, "line_limit_exceeded", lambda uow: lines.draw(uow, line_id, cid, 100_00, "pay_later"))


def test_fallback_limit_is_bounded_by_a_third_of_income(engine, clock):
    world = World(engine, clock)
    cid = world.customer(funds=1)
    line_id = open_line(world, cid, 100_000_00, income=90_000_00)
    assert line(world, line_id)["limit"] == "30000.00"
    assert "no_platform_model" in line(world, line_id)["reasons"]


def test_concurrent_draws_never_pass_the_limit(engine, clock):
    world = World(engine, clock)
    cid = world.customer(funds=1)
    line_id = open_line(world, cid, 1_000_00)

    def attempt(_: int) -> str:
        try:
            world.run(lambda uow: lines.draw(uow, line_id, cid, 300_00, "pay_later"))
            return "ok"
        except lines.LineLimitExceeded:
            return "refused"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    assert outcomes.count("ok") == 3 and outcomes.count("refused") == 3
    assert line(world, line_id)["outstanding"] == "900.00"
    assert world.wallet(cid) == 900_00 + 1
    books_clean(engine)


def test_plan_disclosure_matches_the_bnpl_plan(engine, clock):
    world = World(engine, clock)
    cid = world.customer(funds=1)
    line_id = open_line(world, cid, 10_000_00)
    done = world.run(lambda uow: lines.draw(uow, line_id, cid, 1_200_00, "instalments", 12))
    plan = bnpl.instalments(1_200_00, catalog.choose_plan("instalments", 12)[1], world.today())
    assert done["plan"]["annualized_rate"] == str(bnpl.plan_rate(1_200_00, plan, world.today()))
    assert [s["due_date"] for s in done["plan"]["schedule"]] == [i.due_date.isoformat() for i in plan]
    assert done["loan"]["term"] == 12 and done["loan"]["product_code"] == "line-instalments"


def test_instalments_repaid_on_their_due_dates_close_the_loan(engine, clock):
    world = World(engine, clock)
    cid = world.customer(funds=100_00)
    line_id = open_line(world, cid, 1_000_00)
    done = world.run(lambda uow: lines.draw(uow, line_id, cid, 900_00, "instalments", 3))
    loan_id = done["loan"]["id"]
    for instalment in done["plan"]["schedule"]:
        due = dt.date.fromisoformat(instalment["due_date"])
        clock.advance(days=(due - world.today()).days)
        world.eod(due)
        paid = world.repay(loan_id, cid)
        assert paid["amount"] == instalment["total"]
    with reading(engine) as connection:
        assert service.get_loan(connection, loan_id)["status"] == "paid_off"
    assert line(world, line_id)["available"] == "1000.00"
    fees = sum(Decimal(i["fee"]) for i in done["plan"]["schedule"])
    assert fees == Decimal("20.52")  # 0.76% of 900.00 a period, 3 periods
    assert world.wallet(cid) == 900_00 + 100_00 - 900_00 - 20_52
    books_clean(engine)


def test_a_plan_above_the_cap_is_refused(engine, clock, monkeypatch):
    world = World(engine, clock)
    cid = world.customer(funds=1)
    line_id = open_line(world, cid, 1_000_00)
    plans = [{"periods": 3, "fee_rate_per_period": "0.0333"}]  # 10% over 3 periods, ~60% a year by IRR
    monkeypatch.setitem(catalog.INSTALMENT_PRODUCT, "instalment_plans", plans)
    refused(world, "rate_above_cap", lambda uow: lines.draw(uow, line_id, cid, 300_00, "instalments", 3))


def test_with_a_platform_model_the_limit_and_grade_come_from_the_score(engine, clock, monkeypatch):
    from puhui.risk.scoring import limits, platform, registry

    world = World(engine, clock)
    good, poor = world.customer(funds=1), world.customer(funds=1)
    scores = {good: 700.0, poor: 400.0}
    monkeypatch.setattr(registry, "champion", lambda connection, name: None)
    monkeypatch.setattr(platform, "score_customer", lambda connection, cid: {"score": scores[cid], "reasons": []})
    opened = world.run(lambda uow: lines.open_line(uow, good, "op", annual_income=120_000_00))
    expected = limits.credit_line(700.0, Decimal(10_000))  # 10,000.00 a month
    assert (opened["grade"], opened["limit"]) == (expected.grade, f"{expected.limit}.00")
    capped = world.run(lambda uow: lines.change_limit(uow, opened["id"], 1_000_00))
    assert capped["limit"] == "1000.00"
    refused(world, "credit_line_declined", lambda uow: lines.open_line(uow, poor, "op", annual_income=120_000_00))


def test_an_expired_line_refuses_draws(engine, clock):
    world = World(engine, clock)
    cid = world.customer(funds=1)
    line_id = world.run(lambda uow: lines.open_line(uow, cid, "op", limit=1_000_00, annual_income=INCOME, term_days=1))[
        "id"
    ]
    clock.advance(days=2)
    refused(world, "credit_line_expired", lambda uow: lines.draw(uow, line_id, cid, 100_00, "pay_later"))


@settings(max_examples=60, deadline=None)
@given(
    amount=st.integers(1, 200_000_00),
    plan=st.sampled_from([("pay_later", None), ("instalments", 3), ("instalments", 6), ("instalments", 12)]),
    day=st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31)),
)
def test_every_plan_repays_the_amount_within_the_cap(amount, plan, day):
    disclosure = lines.plan_of(plan[0], plan[1], amount, day)
    assert sum(i.principal for i in disclosure.schedule) == amount
    assert all(i.due_date > day for i in disclosure.schedule)
    assert Decimal(0) <= disclosure.annualized_rate <= Decimal("0.24")
    assert disclosure.total_fees == sum(i.fee for i in disclosure.schedule)


def test_a_past_due_loan_stops_new_draws_until_repaid(engine, clock):
    world = World(engine, clock)
    cid = world.customer(funds=100_00)  # the penalty interest
    line_id = open_line(world, cid, 1_000_00)
    loan_id = world.run(lambda uow: lines.draw(uow, line_id, cid, 200_00, "pay_later"))["loan"]["id"]
    due = bnpl.due_date(world.today())
    clock.advance(days=(due - world.today()).days + 5)  # past the 3 grace days
    world.eod(world.today())
    with reading(engine) as connection:
        assert lines.draws_of(connection, line_id)[0]["days_past_due"] > 0
    refused(world, "credit_line_overdue", lambda uow: lines.draw(uow, line_id, cid, 100_00, "pay_later"))
    world.repay(loan_id, cid)  # all that is due, penalty included
    world.run(lambda uow: lines.draw(uow, line_id, cid, 100_00, "pay_later"))
    books_clean(engine)
