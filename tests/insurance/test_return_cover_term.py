"""The term of return-shipping cover (退货运费险的保险期间), on SQLite and PostgreSQL: 15 days from the order's
China date (up to 8 days to deliver, then the 7-day no-reason return window of 消保法 第二十五条), one
definition the returns service and the reserve line share. A return the merchant confirms up to 24:00 China
time of the 15th day pays the claim; one confirmed from 00:00 of the next day is refused with 409
`return_cover_expired` and changes nothing (no claim row, no transfer, no event, balances as they were, the
ledger audit clean), the policy reading `expired`; a return already paid answers its claim again, on any
day, whether replayed by its Idempotency-Key or sent anew."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from puhui import clock as clock_module
from puhui.db import transaction
from puhui.insurance.reserves import return_line
from puhui.insurance.returns import errors, models, service
from tests.identity.helpers import PASSWORD
from tests.insurance.test_return_shipping_http import (  # noqa: F401 - the HTTP client fixture
    OTHER_SHOP,
    assert_audit_clean,
    balance,
    checkout,
    client,
    customer,
    fund,
    insurer_with_product,
    merchant,
    post,
    problem,
    qr,
    snapshot,
)

D = dt.date
ORDERED = D(2026, 1, 5)  # the clock fixture's day: 2026-01-05 09:30 China time
LAST_COVERED = D(2026, 1, 19)  # the 15th day, the order day the first
COVER_END = D(2026, 1, 20)  # exclusive: from 00:00 China time, no longer covered
PHONE = "13800000001"


# -- the term, one definition ----------------------------------------------------------------------------


def test_the_term_is_fifteen_days_from_the_order_day_the_last_covered_day_included():
    assert models.COVER_DAYS == models.DELIVERY_DAYS + models.NO_REASON_RETURN_DAYS == 15
    cover = models.cover_of(ORDERED, 172)
    assert (cover.start, cover.end, cover.days, cover.premium) == (ORDERED, COVER_END, 15, 172)
    assert not models.return_covered(ORDERED, ORDERED - dt.timedelta(days=1))
    assert models.return_covered(ORDERED, ORDERED) and models.return_covered(ORDERED, LAST_COVERED)
    assert not models.return_covered(ORDERED, COVER_END)
    assert models.policy_status("active", ORDERED, LAST_COVERED) == "active"
    assert models.policy_status("active", ORDERED, COVER_END) == "expired"
    assert models.policy_status("claimed", ORDERED, COVER_END + dt.timedelta(days=100)) == "claimed"


def test_the_reserve_line_reads_the_returns_term_and_closes_a_cover_when_returns_stop():
    assert return_line.COVER_DAYS is models.COVER_DAYS and return_line.cover_of is models.cover_of
    for offset in range(-2, 20):
        day = ORDERED + dt.timedelta(days=offset)
        cover = return_line.ReturnCover(ORDERED, 150, 12_00, Decimal("0.1"))
        # running at the end of `day` exactly when a return confirmed the next day would still be covered
        assert cover.running(day) == (ORDERED <= day and models.return_covered(ORDERED, day + dt.timedelta(days=1)))
        assert (cover.earned_through(day) == 150) == (day >= LAST_COVERED)


# -- over HTTP -------------------------------------------------------------------------------------------


def china(day: dt.date, *, micros_before_midnight: int = 0) -> dt.datetime:
    """00:00 China time of `day`, or that many microseconds before it."""
    return clock_module.china_midnight(day) - dt.timedelta(microseconds=micros_before_midnight)


def login(client) -> dict:  # type: ignore[no-untyped-def]
    """The buyer's bearer token afresh (a token lives 15 minutes; the clock moves days)."""
    answer = client.post("/v1/customers/login", json={"phone": PHONE, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture
def bought(client, engine, clock):  # type: ignore[no-untyped-def]
    """A covered order of 100.00 on 2026-01-05, the insurer's held premiums funded to pay a claim."""
    insurer_id = insurer_with_product(client, engine)
    fund(engine, f"insurer.{insurer_id}.premium_held", 100_00, "insurer-float")
    cid, me = customer(client, engine, PHONE, "531", 1000_00)
    merchant_id, shop = merchant(client)
    done = checkout(client, me, qr(client, merchant_id, shop, "100.00"), "co-1")
    assert done.status_code == 201, done.text
    policy = done.json()["policy"]
    assert policy["status"] == "active" and policy["cover_end"] == COVER_END.isoformat()
    return {"cid": cid, "insurer_id": insurer_id, "merchant_id": merchant_id, "shop": shop, "policy": policy}


def test_a_return_confirmed_on_the_last_covered_day_pays_and_a_replay_later_answers_the_claim(
    client, engine, clock, bought
):  # type: ignore[no-untyped-def]
    policy, shop, cid = bought["policy"], bought["shop"], bought["cid"]
    path = f"/v1/insurance/return-shipping/policies/{policy['id']}/return"
    wallet = balance(engine, f"wallet.{cid}")
    clock.set(china(COVER_END, micros_before_midnight=1))  # 2026-01-19 23:59:59.999999 China time
    mine = client.get(f"/v1/insurance/return-shipping/policies/{policy['id']}", headers=login(client))
    assert mine.status_code == 200 and mine.json()["policy"]["status"] == "active"

    paid = post(client, path, shop, "ret-1")
    assert paid.status_code == 200, paid.text
    assert paid.json()["policy"]["status"] == "claimed" and paid.json()["claim"]["amount"] == "12.00"
    assert clock_module.china_date(dt.datetime.fromisoformat(paid.json()["claim"]["created_at"])) == LAST_COVERED
    assert balance(engine, f"wallet.{cid}") == wallet + 12_00
    assert_audit_clean(engine)

    clock.set(china(COVER_END + dt.timedelta(days=1)))  # past the term: the claim paid stands and is answered
    replayed = post(client, path, shop, "ret-1")  # the same Idempotency-Key: the stored answer
    assert replayed.status_code == 200 and replayed.json() == paid.json()
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    again = post(client, path, shop, "ret-2")  # sent anew: the policy is claimed, its claim is the answer
    assert again.status_code == 200 and again.json() == paid.json()
    answer, created = transaction(engine, lambda uow: service.confirm_return(uow, bought["merchant_id"], policy["id"]))
    assert not created and answer["claim"] == paid.json()["claim"]
    mine = client.get(f"/v1/insurance/return-shipping/policies/{policy['id']}", headers=login(client))
    assert mine.json() == paid.json()  # still claimed, never expired
    assert balance(engine, f"wallet.{cid}") == wallet + 12_00  # paid once
    assert_audit_clean(engine)


def test_a_return_confirmed_the_day_after_the_term_is_refused_and_changes_nothing(client, engine, clock, bought):  # type: ignore[no-untyped-def]
    policy, shop, cid = bought["policy"], bought["shop"], bought["cid"]
    held = f"insurer.{bought['insurer_id']}.premium_held"
    path = f"/v1/insurance/return-shipping/policies/{policy['id']}/return"
    other_shop = merchant(client, OTHER_SHOP)[1]
    clock.set(china(COVER_END))  # 2026-01-20 00:00 China time: the first day not covered
    wallet, float_ = balance(engine, f"wallet.{cid}"), balance(engine, held)
    before = snapshot(engine)

    refused = post(client, path, shop, "ret-late")
    problem(refused, 409, "return_cover_expired")
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["policy_id"] == policy["id"] and body["cover_end"] == COVER_END.isoformat()
    assert "2026-01-19" in body["detail"], body
    problem(post(client, path, shop, "ret-late"), 409, "return_cover_expired")  # a refusal is not stored
    with pytest.raises(errors.ReturnCoverExpired):
        transaction(engine, lambda uow: service.confirm_return(uow, bought["merchant_id"], policy["id"]))
    problem(post(client, path, other_shop, "ret-other"), 404, "return_shipping_policy_not_found")

    assert snapshot(engine) == before  # no claim row, no transfer, no event, the policy row as it was
    assert balance(engine, f"wallet.{cid}") == wallet and balance(engine, held) == float_
    assert_audit_clean(engine)
    mine = client.get(f"/v1/insurance/return-shipping/policies/{policy['id']}", headers=login(client))
    assert mine.status_code == 200, mine.text
    assert mine.json() == {"policy": {**policy, "status": "expired"}, "claim": None}

    clock.set(china(COVER_END + dt.timedelta(days=30)))  # and so it stays
    before = snapshot(engine)
    problem(post(client, path, shop, "ret-later"), 409, "return_cover_expired")
    assert snapshot(engine) == before
