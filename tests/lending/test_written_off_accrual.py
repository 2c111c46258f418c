"""A written-off loan (已核销) accrues nothing after its write-off, and its answers say so, on SQLite and PostgreSQL.

Its `accrued_through` (计息至) showed the last end of day run however long after the write-off, as if interest
still ran. It now stays at the write-off date, which `written_off_on` (核销日) gives, as a paid-off loan's stays
at its payoff: the ledger's last interest accrual and penalty of the loan (`acr.<loan>.<yyyymmdd>`,
`pen.<loan>.<yyyymmdd>`) are of that date, and a recovery afterwards moves nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from puhui.db import reading
from puhui.ledger.tables import transfers
from puhui.lending import service, statements
from puhui.lending.eod import WRITE_OFF_DPD

from .lending_world import MONTHLY, World, day_over
from .test_lending_http import ADMIN, ZHANG, _fund, client, login, make_staff, register

__all__ = ["client"]


def _dates(engine, loan_id: str) -> tuple[tuple[str, str | None, str | None], ...]:  # type: ignore[no-untyped-def]
    """(accrued_through, paid_off_on, written_off_on) of the loan's answer and of its statement."""
    keys = ("accrued_through", "paid_off_on", "written_off_on")
    with reading(engine) as connection:
        loan = service.get_loan(connection, loan_id)
        st = statements.statement(connection, loan_id).as_json()
    return tuple(loan[k] for k in keys), tuple(st[k] for k in keys)


def _last_posted(engine, loan_id: str, kind: str) -> dt.date:  # type: ignore[no-untyped-def]
    """The date of the loan's last end-of-day posting of `kind` (acr: interest accrual, pen: penalty), by its id."""
    with reading(engine) as connection:
        last = connection.execute(
            select(func.max(transfers.c.id)).where(transfers.c.id.like(f"{kind}.{loan_id}.%"))
        ).scalar_one()
    return dt.datetime.strptime(last.rsplit(".", 1)[1], "%Y%m%d").date()


def _first_due(engine, loan_id: str) -> dt.date:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return dt.date.fromisoformat(service.schedule_of(connection, loan_id)[0]["due_date"])


def _status(engine, loan_id: str) -> str:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return service.loan_row(connection, loan_id)["status"]


def test_a_loan_written_off_in_a_catch_up_accrues_through_its_write_off_and_no_later(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    defaulter, payer = w.customer(), w.customer()
    gone = w.loan(defaulter, "cash-12", 12_000_00, 12)  # never repaid; twelve months, so interest still runs
    first_due = _first_due(engine, gone)
    clock.advance(days=(first_due - w.today()).days + 100)
    assert w.eod().ran  # the first run: 100 days past due, not yet written off
    assert _status(engine, gone) == "active"
    w.next_day()
    kept = w.loan(payer, "cash-12", 6_000_00, 6)  # a live loan beside it
    clock.advance(days=99)  # a hundred days after the first run
    caught_up = w.eod()  # the days of the gap run one by one; the write-off falls inside
    assert len(caught_up.caught_up) == 99 and _status(engine, gone) == "written_off"
    written_off = first_due + dt.timedelta(days=WRITE_OFF_DPD + 1)  # more than 180 days past due
    assert _last_posted(engine, gone, "acr") == _last_posted(engine, gone, "pen") == written_off
    assert _dates(engine, gone) == ((written_off.isoformat(), None, written_off.isoformat()),) * 2
    last_run = caught_up.business_date
    assert _dates(engine, kept) == ((last_run.isoformat(), None, None),) * 2  # a live loan: the last run

    w.next_day()
    assert w.repay(gone, defaulter, 500_00)["kind"] == "recovery"  # money recovered is not interest
    for _ in range(3):
        w.eod()
        w.next_day()
    assert _dates(engine, gone) == ((written_off.isoformat(), None, written_off.isoformat()),) * 2
    assert _last_posted(engine, gone, "acr") == written_off
    latest = (w.today() - dt.timedelta(days=1)).isoformat()
    assert _dates(engine, kept) == ((latest, None, None),) * 2


def test_over_http_a_written_off_loan_shows_its_write_off_date(client, engine, clock):
    operator = make_staff(client, "operator")
    assert client.post("/v1/lending/products", headers={**operator, "Idempotency-Key": "p1"}, json=MONTHLY).is_success
    zhang = register(client, ZHANG)
    me = login(client, ZHANG)
    _fund(engine, clock, zhang["id"])
    body = {"product_code": "cash-12", "amount": "6000.00", "term": 12, "annual_income": "120000.00"}
    applied = client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a1"}, json=body)
    offer = client.post(
        f"/v1/lending/applications/{applied.json()['id']}/offers", headers={**me, "Idempotency-Key": "o1"}
    )
    accepted = client.post(f"/v1/lending/offers/{offer.json()['id']}/accept", headers={**me, "Idempotency-Key": "c1"})
    assert accepted.status_code == 201, accepted.text
    loan_id = accepted.json()["id"]
    assert accepted.json()["written_off_on"] is None
    w = World(engine, clock)
    clock.advance(days=(_first_due(engine, loan_id) - w.today()).days + WRITE_OFF_DPD + 4)
    written_off = day_over(clock)  # the first end of day, 184 days past due: written off that night
    run = client.post(
        "/v1/lending/eod", headers={**ADMIN, "Idempotency-Key": "e1"}, json={"business_date": written_off.isoformat()}
    )
    assert run.status_code == 200, run.text  # the clock is on the next day, when the money is recovered
    me = login(client, ZHANG)
    recovered = client.post(
        f"/v1/lending/loans/{loan_id}/repayments", headers={**me, "Idempotency-Key": "r1"}, json={"amount": "100.00"}
    )
    assert recovered.status_code == 201 and recovered.json()["kind"] == "recovery", recovered.text
    for _ in range(3):
        w.eod()
        w.next_day()
    me = login(client, ZHANG)
    for answer in (
        client.get(f"/v1/lending/loans/{loan_id}", headers=me).json(),
        client.get("/v1/lending/loans", headers=me).json()[0],
        client.get(f"/v1/lending/loans/{loan_id}/statement", headers=me).json(),
    ):
        assert answer["status"] == "written_off", answer
        assert (answer["accrued_through"], answer["paid_off_on"], answer["written_off_on"]) == (
            written_off.isoformat(),
            None,
            written_off.isoformat(),
        ), answer
