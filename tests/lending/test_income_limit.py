"""The one-third-of-income limit (小额贷款: 单户余额不超过30万元且不超过年收入的1/3) holds whether or not an
application gives the income (user pass, finding 1): an application or a draw without an income uses the
customer's income on file (the latest one declared, on an application or a credit line); with none on
file it is refused (`annual_income_required`) and nothing changes. The outstanding counted is all the
customer's principal: cash loans, credit-line draws and pay-later checkouts."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from puhui.db import reading
from puhui.errors import PuhuiError
from puhui.ledger.audit import audit
from puhui.lending import service
from puhui.lending.lines import service as lines
from puhui.lending.lines.tables import LINE_TABLES, credit_lines
from puhui.payments import reserve

from .lending_world import MONTHLY, World
from .lending_world import snapshot as lending_snapshot
from .test_lending_http import ADMIN, LI, ZHANG, _fund, client, login, make_staff, register

__all__ = ["client"]


def snapshot(engine) -> dict:  # type: ignore[no-untyped-def]
    state = lending_snapshot(engine)
    with engine.connect() as connection:
        for table in LINE_TABLES:
            state[table.name] = sorted(map(tuple, connection.execute(select(table)).all()), key=repr)
    return state


def books_clean(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
        assert report.ok, report.violations
        assert reserve.reserve_coverage(connection).covered


def refused(world: World, code: str, work) -> PuhuiError:  # type: ignore[no-untyped-def]
    before = snapshot(world.engine)
    with pytest.raises(PuhuiError) as caught:
        world.run(work)
    assert (caught.value.code, caught.value.status) == (code, 422), caught.value
    assert snapshot(world.engine) == before
    return caught.value


def outstanding(engine, cid: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return service.outstanding_of(connection, cid)


def _post(client, path: str, headers: dict, key: str, body: dict):  # type: ignore[no-untyped-def]
    return client.post(path, headers={**headers, "Idempotency-Key": key}, json=body)


def test_leaving_the_income_out_no_longer_passes_the_limit_over_http(client, engine, clock, credit_model):
    """The finding's repro: 40,000 owed on an income of 120,000 (the whole third); 10,000 more is refused
    with the income given, and now also without it; a customer with no income on file is told to declare
    it. A credit line opened without an income takes the one on file, and its draws count against it."""
    operator = make_staff(client, "operator")
    assert _post(client, "/v1/lending/products", operator, "p1", MONTHLY).status_code == 201
    zhang, li = register(client, ZHANG), register(client, LI)
    me, other = login(client, ZHANG), login(client, LI)
    _fund(engine, clock, zhang["id"])
    _fund(engine, clock, li["id"])
    credit_model.set(zhang["id"], 780.0)  # grade A: a credit limit of four months' income, the whole third
    big = {"product_code": "cash-12", "amount": "40000.00", "term": 12, "annual_income": "120000.00"}
    applied = _post(client, "/v1/lending/applications", me, "a1", big)
    assert applied.status_code == 201 and applied.json()["decision"] == "approved", applied.text
    offer = _post(client, f"/v1/lending/applications/{applied.json()['id']}/offers", me, "o1", {})
    assert _post(client, f"/v1/lending/offers/{offer.json()['id']}/accept", me, "c1", {}).status_code == 201

    before = snapshot(engine)
    more = {"product_code": "cash-12", "amount": "10000.00", "term": 6}
    for key, body in (("a2", {**more, "annual_income": "120000.00"}), ("a3", more)):
        answer = _post(client, "/v1/lending/applications", me, key, body)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert (problem["code"], problem["rule"], problem["limit"]) == (
            "borrower_limit_exceeded",
            "income_third",
            "40000.00",
        ), problem
    answer = _post(client, "/v1/lending/applications", other, "a4", more)  # 李娜 never declared an income
    assert answer.status_code == 422 and answer.json()["code"] == "annual_income_required", answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    answer = _post(client, "/v1/lending/lines", ADMIN, "l1", {"customer_id": li["id"], "limit": "2000.00"})
    assert answer.status_code == 422 and answer.json()["code"] == "annual_income_required", answer.text
    assert snapshot(engine) == before

    line = _post(client, "/v1/lending/lines", ADMIN, "l2", {"customer_id": zhang["id"], "limit": "2000.00"})
    assert line.status_code == 201 and line.json()["limit"] == "2000.00", line.text  # the income on file
    before = snapshot(engine)
    drawn = _post(client, f"/v1/lending/lines/{line.json()['id']}/draws", me, "d1", {"amount": "100.00"})
    assert drawn.status_code == 422 and drawn.json()["code"] == "borrower_limit_exceeded", drawn.text
    assert snapshot(engine) == before
    assert outstanding(engine, zhang["id"]) == 40_000_00
    books_clean(engine)


def test_the_latest_declared_income_counts_at_application_and_acceptance(engine, clock):
    """An offer accepted after the customer declared a lower income is checked against the lower one."""
    world = World(engine, clock)
    world.product(MONTHLY)
    cid = world.customer()
    first = world.run(lambda uow: service.apply(uow, cid, "cash-12", 10_000_00, 6, 120_000_00))
    offer = world.run(lambda uow: service.make_offer(uow, first["id"], cid))
    clock.advance(minutes=1)
    world.run(lambda uow: service.apply(uow, cid, "cash-12", 1_000_00, 6, 15_000_00))  # now 15,000 a year
    with reading(engine) as connection:
        assert service.income_on_file(connection, cid) == 15_000_00
    error = refused(world, "borrower_limit_exceeded", lambda uow: service.accept(uow, offer["id"], cid))
    assert error.extra == {"limit": "5000.00", "rule": "income_third"}
    clock.advance(minutes=1)
    again = world.run(lambda uow: service.apply(uow, cid, "cash-12", 10_000_00, 6, 60_000_00))
    assert again["decision"] == "approved"
    world.run(lambda uow: service.accept(uow, offer["id"], cid))  # 20,000 a third of 60,000: within it
    assert outstanding(engine, cid) == 10_000_00
    refused(world, "borrower_limit_exceeded", lambda uow: service.apply(uow, cid, "cash-12", 10_000_01, 6))
    books_clean(engine)


def test_draws_and_pay_later_loans_count_and_a_draw_needs_an_income_on_file(engine, clock):
    """A third of 30,000 is 10,000: 3,000 drawn on the line leaves 7,000 for a cash loan; a line whose
    customer has no income on file (opened before an income was required) lends nothing."""
    world = World(engine, clock)
    world.product(MONTHLY)
    cid, legacy = world.customer(), world.customer()
    line_id = world.run(lambda uow: lines.open_line(uow, cid, "op", limit=5_000_00, annual_income=30_000_00))["id"]
    world.run(lambda uow: lines.draw(uow, line_id, cid, 2_000_00, "pay_later"))
    world.run(lambda uow: lines.draw(uow, line_id, cid, 1_000_00, "instalments", 3))
    refused(world, "borrower_limit_exceeded", lambda uow: service.apply(uow, cid, "cash-12", 7_000_01, 6))
    world.loan(cid, "cash-12", 7_000_00, 6, income=None)  # the income on file: the line's
    refused(world, "borrower_limit_exceeded", lambda uow: lines.draw(uow, line_id, cid, 1, "pay_later"))
    assert outstanding(engine, cid) == 10_000_00

    old = world.run(lambda uow: lines.open_line(uow, legacy, "op", limit=5_000_00, annual_income=30_000_00))["id"]
    world.run(lambda uow: uow.execute(update(credit_lines).where(credit_lines.c.id == old).values(annual_income=None)))
    refused(world, "annual_income_required", lambda uow: lines.draw(uow, old, legacy, 100_00, "pay_later"))
    refused(world, "annual_income_required", lambda uow: service.apply(uow, legacy, "cash-12", 1_000_00, 6))
    books_clean(engine)
