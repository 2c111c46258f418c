"""Acting on another customer's lending record answers as acting on one that does not exist, over HTTP and in
the services, on SQLite and PostgreSQL.

Reading another customer's line, application, offer or loan is already 404 with the code of a missing one.
Making an offer on another's application, accepting another's offer, repaying another's loan (every kind)
and drawing on another's credit line answer the same: 404 with that code, the same detail as for an unknown
id, the same problem fields, nothing said of another customer. Nothing changes (no money moves, no row, no
event), the refusal is audited with its 404, and the books still balance (`puhui audit`). The owner and
staff keep their access; naming another customer in the body stays 403 `forbidden`, as for an unknown id.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from puhui.db import reading
from puhui.db.tables import audit_log
from puhui.errors import PuhuiError
from puhui.lending import repayments, service
from puhui.lending.lines import service as lines

from .lending_world import INCOME, MONTHLY, World
from .lending_world import snapshot as lending_snapshot
from .test_checkout_http import (
    ADMIN,
    books_clean,
    client,
    customer,
    fund,
    open_line,
    snapshot,
)

__all__ = ["client"]

UNKNOWN = {
    "application": "la_000000000000000000000000",
    "offer": "lo_000000000000000000000000",
    "loan": "ln_000000000000000000000000",
    "line": "cl_000000000000000000000000",
}


def _created(answer) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == 201, answer.text
    return answer.json()


def _owner_world(client, engine) -> dict:  # type: ignore[no-untyped-def]
    """The owner's records: an application with an open offer, an accepted offer and its loan, a credit line with
    a loan drawn on it; and another customer with money in the wallet and nothing of their own."""
    _created(client.post("/v1/lending/products", headers={**ADMIN, "Idempotency-Key": "p1"}, json=MONTHLY))
    cid, me = customer(client, "13800138201", "201")
    other, them = customer(client, "13800138202", "202")
    fund(engine, cid, 10_000_00)
    fund(engine, other, 10_000_00)
    body = {"product_code": "cash-12", "amount": "6000.00", "term": 6, "annual_income": "120000.00"}
    taken = _created(client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a1"}, json=body))
    offered = _created(
        client.post(f"/v1/lending/applications/{taken['id']}/offers", headers={**me, "Idempotency-Key": "o1"})
    )
    loan = _created(client.post(f"/v1/lending/offers/{offered['id']}/accept", headers={**me, "Idempotency-Key": "c1"}))
    body = {**body, "amount": "2000.00"}
    pending = _created(client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a2"}, json=body))
    open_offer = _created(
        client.post(f"/v1/lending/applications/{pending['id']}/offers", headers={**me, "Idempotency-Key": "o2"})
    )
    line_id = open_line(client, cid, "3000.00")
    drawn = _created(
        client.post(
            f"/v1/lending/lines/{line_id}/draws", headers={**me, "Idempotency-Key": "d1"}, json={"amount": "500.00"}
        )
    )
    return {
        "cid": cid,
        "me": me,
        "other": other,
        "them": them,
        "application": pending["id"],
        "offer": open_offer["id"],
        "loan": loan["id"],
        "line_loan": drawn["loan"]["id"],
        "line": line_id,
    }


def _calls(w: dict) -> list[tuple[str, str, str, dict | None, str]]:
    """(action audited, path with `{}` for the id, kind of record, body, code of a missing one) for every
    mutating lending call that names a customer's own record."""
    return [
        ("lending.offer", "/v1/lending/applications/{}/offers", "application", None, "loan_application_not_found"),
        ("lending.accept", "/v1/lending/offers/{}/accept", "offer", None, "loan_offer_not_found"),
        ("lending.repay", "/v1/lending/loans/{}/repayments", "loan", {}, "loan_not_found"),
        ("lending.repay", "/v1/lending/loans/{}/repayments", "loan", {"kind": "early_full"}, "loan_not_found"),
        (
            "lending.repay",
            "/v1/lending/loans/{}/repayments",
            "loan",
            {"kind": "early_partial", "amount": "3000.00"},
            "loan_not_found",
        ),
        ("lending.repay", "/v1/lending/loans/{}/repayments", "line_loan", {"kind": "early_full"}, "loan_not_found"),
        ("lending.line_draw", "/v1/lending/lines/{}/draws", "line", {"amount": "100.00"}, "credit_line_not_found"),
    ]


def _refusals(engine, principal: str) -> list[tuple[str, str | None, int, str | None]]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = connection.execute(
            select(audit_log.c.action, audit_log.c.target, audit_log.c.status_code, audit_log.c.detail)
            .where(audit_log.c.principal == principal)
            .order_by(audit_log.c.seq)
        ).all()
    return [(a, t, s, json.loads(d).get("error") if d else None) for a, t, s, d in rows]


def test_acting_on_another_customers_record_answers_as_an_unknown_one_and_changes_nothing(client, engine, clock):  # type: ignore[no-untyped-def]
    w = _owner_world(client, engine)
    them = w["them"]
    owned = {path: client.get(path, headers=w["me"]).json() for path in _owner_reads(w)}
    before = snapshot(engine)
    for n, (action, path, kind, body, code) in enumerate(_calls(w)):
        record, unknown = w[kind], UNKNOWN["loan" if kind == "line_loan" else kind]
        kwargs = {} if body is None else {"json": body}
        hidden = client.post(path.format(record), headers={**them, "Idempotency-Key": f"h{n}"}, **kwargs)
        absent = client.post(path.format(unknown), headers={**them, "Idempotency-Key": f"u{n}"}, **kwargs)
        assert (hidden.status_code, hidden.json()["code"]) == (404, code), (path, body, hidden.text)
        assert (absent.status_code, absent.json()["code"]) == (404, code), (path, body, absent.text)
        assert hidden.headers["content-type"].startswith("application/problem+json")
        assert hidden.json()["detail"] == absent.json()["detail"].replace(unknown, record)
        assert hidden.json()["title"] == absent.json()["title"]
        assert set(hidden.json()) == set(absent.json())
        assert "another" not in hidden.text and "belongs" not in hidden.text
        assert snapshot(engine) == before, (path, body)  # no money moved, no row, no event
        # refused as refusals are: audited with the same 404 and code as for an unknown id
        assert _refusals(engine, w["other"])[-2:] == [
            (action, record, 404, code),
            (action, unknown, 404, code),
        ]
    books_clean(engine)
    # the owner's loans and line read exactly as before
    assert {path: client.get(path, headers=w["me"]).json() for path in _owner_reads(w)} == owned
    # staff keep their access
    for path in _owner_reads(w):
        assert client.get(path, headers=ADMIN).status_code == 200, path

    # naming another customer in the body stays 403 `forbidden`, and answers the same for an unknown loan
    for loan_id in (w["loan"], UNKNOWN["loan"]):
        answer = client.post(
            f"/v1/lending/loans/{loan_id}/repayments",
            headers={**them, "Idempotency-Key": f"f{loan_id}"},
            json={"kind": "early_full", "from_customer_id": w["cid"]},
        )
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), answer.text
        assert answer.json()["detail"] == "a customer acts only for themselves"
    assert snapshot(engine) == before

    # the owner still can: accept the open offer, repay, draw
    me = w["me"]
    _created(client.post(f"/v1/lending/offers/{w['offer']}/accept", headers={**me, "Idempotency-Key": "c2"}))
    paid = client.post(
        f"/v1/lending/loans/{w['line_loan']}/repayments",
        headers={**me, "Idempotency-Key": "r1"},
        json={"kind": "early_full"},
    )
    assert paid.status_code == 201, paid.text
    _created(
        client.post(
            f"/v1/lending/lines/{w['line']}/draws", headers={**me, "Idempotency-Key": "d2"}, json={"amount": "100.00"}
        )
    )
    books_clean(engine)


def _owner_reads(w: dict) -> list[str]:
    return [
        f"/v1/lending/loans/{w['loan']}",
        f"/v1/lending/loans/{w['loan']}/statement",
        f"/v1/lending/loans/{w['line_loan']}",
        f"/v1/lending/lines/{w['line']}",
        f"/v1/lending/lines/{w['line']}/draws",
        f"/v1/lending/offers/{w['offer']}",
        f"/v1/lending/applications/{w['application']}",
    ]


def _refused_as_unknown(world: World, code: str, work, unknown_work) -> None:  # type: ignore[no-untyped-def]
    """`work` (on another's record) is refused exactly as `unknown_work` (on an unknown id): 404 `code`, the
    same detail but for the id; and changes nothing."""
    before = lending_snapshot(world.engine)
    with pytest.raises(PuhuiError) as hidden:
        world.run(work)
    with pytest.raises(PuhuiError) as absent:
        world.run(unknown_work)
    assert (hidden.value.status, hidden.value.code) == (absent.value.status, absent.value.code) == (404, code)
    assert hidden.value.detail.split()[0] == absent.value.detail.split()[0]
    assert hidden.value.detail.split()[-2:] == absent.value.detail.split()[-2:] == ["not", "found"]
    assert "another" not in hidden.value.detail
    assert lending_snapshot(world.engine) == before


def test_the_services_refuse_another_customers_record_as_an_unknown_one(engine, clock):  # type: ignore[no-untyped-def]
    world = World(engine, clock)
    world.product(MONTHLY)
    owner, other = world.customer(), world.customer()
    loan_id = world.loan(owner, "cash-12", 6000_00, 6)
    application = world.run(lambda uow: service.apply(uow, owner, "cash-12", 2000_00, 6, INCOME))
    offer = world.run(lambda uow: service.make_offer(uow, application["id"], owner))
    line_id = world.run(lambda uow: lines.open_line(uow, owner, "op", annual_income=INCOME, limit=3000_00))["id"]
    wallets = (world.wallet(owner), world.wallet(other))

    _refused_as_unknown(
        world,
        "loan_application_not_found",
        lambda uow: service.make_offer(uow, application["id"], other),
        lambda uow: service.make_offer(uow, UNKNOWN["application"], other),
    )
    _refused_as_unknown(
        world,
        "loan_offer_not_found",
        lambda uow: service.accept(uow, offer["id"], other),
        lambda uow: service.accept(uow, UNKNOWN["offer"], other),
    )
    for kind, amount in (("scheduled", None), ("early_full", None), ("early_partial", 3000_00)):
        _refused_as_unknown(
            world,
            "loan_not_found",
            lambda uow, kind=kind, amount=amount: repayments.repay(uow, loan_id, other, amount, kind),
            lambda uow, kind=kind, amount=amount: repayments.repay(uow, UNKNOWN["loan"], other, amount, kind),
        )
    _refused_as_unknown(
        world,
        "credit_line_not_found",
        lambda uow: lines.draw(uow, line_id, other, 100_00, "pay_later"),
        lambda uow: lines.draw(uow, UNKNOWN["line"], other, 100_00, "pay_later"),
    )
    assert (world.wallet(owner), world.wallet(other)) == wallets
    books_clean(engine)
