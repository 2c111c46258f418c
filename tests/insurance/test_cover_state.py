"""Where a policy's cover stands, in the API as on the customer's page (`cover_state`), on SQLite and
PostgreSQL: a policy bought today starts tomorrow (awaiting_start, 待生效), is in force from 00:00 of its first
day, ended from its exclusive end date, and cancelled once cancelled, while `status` stays the contract's
(active, cancelled). A new user read `status: active` in the API for a policy the app said was not yet in force."""

from __future__ import annotations

import datetime as dt

from puhui import clock as puhui_clock
from puhui.insurance import models
from tests.identity.helpers import ZHANG, login
from tests.insurance.ages import aged
from tests.insurance.test_insurance_http import (  # noqa: F401 - the client fixture
    buy,
    call,
    client,
    customer,
    insurer_with_product,
)


def state_of(client, me: dict, policy_id: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    answer = client.get(f"/v1/insurance/policies/{policy_id}", headers=me)
    assert answer.status_code == 200, answer.text
    return answer.json()["status"], answer.json()["cover_state"]


def test_the_api_says_when_the_cover_is_in_force(client, engine, clock):  # type: ignore[no-untyped-def]
    insurer_with_product(client)
    _, me = customer(client, engine, aged(ZHANG, 30))
    policy = buy(client, me, "buy-1").json()
    assert (policy["status"], policy["cover_state"]) == ("active", "awaiting_start")
    assert dt.date.fromisoformat(policy["start_date"]) > puhui_clock.business_date()
    clock.advance(days=1)
    me = login(client, ZHANG)
    assert state_of(client, me, policy["id"]) == ("active", "in_force")
    cancelled = call(client, f"/v1/insurance/policies/{policy['id']}/cancel", me, "cancel-1")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cover_state"]) == ("cancelled", "cancelled")


def test_the_cover_state_rule():
    cover = models.Cover(dt.date(2026, 1, 6), dt.date(2027, 1, 6), 299_00)
    state = models.cover_state
    assert state("active", cover, dt.date(2026, 1, 5)) is models.CoverState.awaiting_start
    assert state("active", cover, dt.date(2026, 1, 6)) is models.CoverState.in_force
    assert state("active", cover, dt.date(2027, 1, 5)) is models.CoverState.in_force  # its last covered day
    assert state("active", cover, dt.date(2027, 1, 6)) is models.CoverState.ended  # the end date is exclusive
    assert state("cancelled", cover, dt.date(2026, 1, 10)) is models.CoverState.cancelled
