"""A customer's loan offers (借款方案) are listed with their status, on SQLite and PostgreSQL: no route listed them,
so no page could show whether an offer was still open, had become a loan or was superseded. `GET
/v1/lending/offers` now answers a customer's own offers, newest first, each with what it is for (product, amount,
term), its disclosure and its status as it reads (an offer stored open whose application became a loan reads
`superseded`, as `GET /v1/lending/offers/{id}` does); staff see every offer, another customer none of them."""

from __future__ import annotations

from sqlalchemy import update

from puhui.db import transaction
from puhui.lending.tables import loan_offers

from .lending_world import MONTHLY
from .test_checkout_http import ADMIN, client, customer, snapshot

__all__ = ["client"]


def _created(answer) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == 201, answer.text
    return answer.json()


def _apply(client, me: dict, key: str, amount: str, term: int) -> dict:  # type: ignore[no-untyped-def]
    body = {"product_code": "cash-12", "amount": amount, "term": term, "annual_income": "120000.00"}
    return _created(client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": key}, json=body))


def _offer(client, me: dict, application: dict, key: str) -> dict:  # type: ignore[no-untyped-def]
    path = f"/v1/lending/applications/{application['id']}/offers"
    return _created(client.post(path, headers={**me, "Idempotency-Key": key}))


def test_a_customer_lists_their_offers_with_each_status(client, engine, clock):
    _created(client.post("/v1/lending/products", headers={**ADMIN, "Idempotency-Key": "p"}, json=MONTHLY))
    _, me = customer(client, "13800138501", "501")
    _, them = customer(client, "13800138502", "502")
    assert client.get("/v1/lending/offers", headers=me).json() == []

    used = _apply(client, me, "a1", "3000.00", 6)
    first = _offer(client, me, used, "o1")
    clock.advance(seconds=1)
    second = _offer(client, me, used, "o2")
    clock.advance(seconds=1)
    third = _offer(client, me, used, "o3")
    clock.advance(seconds=1)
    waiting = _apply(client, me, "a2", "2000.00", 12)
    open_one = _offer(client, me, waiting, "o4")
    clock.advance(seconds=1)
    theirs = _offer(client, them, _apply(client, them, "b1", "1000.00", 6), "b2")
    loan = _created(client.post(f"/v1/lending/offers/{second['id']}/accept", headers={**me, "Idempotency-Key": "c"}))
    # as an offer stored before superseding was written down: still `open` in its row
    transaction(
        engine,
        lambda uow: uow.execute(update(loan_offers).where(loan_offers.c.id == third["id"]).values(status="open")),
    )

    before = snapshot(engine)
    listed = client.get("/v1/lending/offers", headers=me)
    assert listed.status_code == 200, listed.text
    mine = listed.json()
    assert [(o["id"], o["status"], o["loan_id"]) for o in mine] == [  # newest first
        (open_one["id"], "open", None),
        (third["id"], "superseded", None),
        (second["id"], "accepted", loan["id"]),
        (first["id"], "superseded", None),
    ]
    for offer in mine:  # each as it reads alone, and what it is for from its application
        alone = client.get(f"/v1/lending/offers/{offer['id']}", headers=me).json()
        assert alone == offer
        application = used if offer["application_id"] == used["id"] else waiting
        assert (offer["product_code"], offer["amount"], offer["term"]) == (
            application["product_code"],
            application["amount"],
            application["term"],
        )
        assert len(offer["schedule"]) == offer["term"]
    assert [o["id"] for o in client.get("/v1/lending/offers", headers=them).json()] == [theirs["id"]]
    every = {o["id"] for o in client.get("/v1/lending/offers", headers=ADMIN).json()}
    assert every == {first["id"], second["id"], third["id"], open_one["id"], theirs["id"]}
    assert client.get("/v1/lending/offers").status_code == 401
    assert snapshot(engine) == before  # reading changes nothing
