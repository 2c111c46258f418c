"""A cancellation (退保) keeps what it decided, on SQLite and PostgreSQL: the refund's reason, the day, the
cooling-off period's last day and the claims it rested on are stored in the policy's row as it is cancelled
(migration 0046) and read back from there, so nothing that changes later (a product's terms, the clock, a
claim decided afterwards) changes why a refund was made. A policy cancelled before the decision was kept
(those columns NULL) still answers, its reason found again from the rule.

And a quote before the cover starts (待生效) is dated today and gives the whole premium back, as cancelling
that day does."""

from __future__ import annotations

import json

from sqlalchemy import select

from puhui.insurance.tables import insurance_policies, insurance_products
from tests.identity.helpers import ZHANG, login
from tests.insurance.ages import aged
from tests.insurance.test_insurance_http import (  # noqa: F401 - the client fixture
    WALLET,
    another_product,
    assert_audit_clean,
    balance,
    buy,
    call,
    client,
    customer,
    insurer_with_product,
)

KEPT = ("refund_reason", "cancelled_on", "cooling_off_last_day", "refund_claims_paid", "refund_claims_owed")


def policy_of(client, me: dict, policy_id: str) -> dict:  # type: ignore[no-untyped-def]
    answer = client.get(f"/v1/insurance/policies/{policy_id}", headers=me)
    assert answer.status_code == 200, answer.text
    return answer.json()


def cancel(client, me: dict, policy_id: str, key: str) -> dict:  # type: ignore[no-untyped-def]
    answer = call(client, f"/v1/insurance/policies/{policy_id}/cancel", me, key)
    assert answer.status_code == 200, answer.text
    return answer.json()


def edit_cooling_off_days(engine, days: int) -> None:  # type: ignore[no-untyped-def]
    """What the reconstruction rests on, changed behind the API's back (a version's terms never change there)."""
    with engine.begin() as connection:
        terms = json.loads(connection.execute(select(insurance_products.c.terms)).scalar_one())
        terms["cooling_off_days"] = days
        connection.execute(insurance_products.update().values(terms=json.dumps(terms)))


def kept(engine, policy_id: str) -> dict:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        query = select(insurance_policies).where(insurance_policies.c.id == policy_id)
        row = connection.execute(query).mappings().one()
    return {k: row[k] for k in KEPT}


def forget(engine, policy_id: str) -> None:  # type: ignore[no-untyped-def]
    """As a policy cancelled before migration 0046: nothing of the decision kept but the refund."""
    with engine.begin() as connection:
        connection.execute(
            insurance_policies.update().where(insurance_policies.c.id == policy_id).values(**dict.fromkeys(KEPT))
        )


def test_a_cancellation_keeps_its_reason_when_what_it_rested_on_changes(client, engine, clock):
    insurer_with_product(client)
    _, me = customer(client, engine, aged(ZHANG, 30))
    policy = buy(client, me, "buy-1").json()
    clock.advance(days=10)  # 2026-01-15: within the cooling-off period (through 2026-01-20)
    me = login(client, ZHANG)
    done = cancel(client, me, policy["id"], "cancel-1")
    decided = done["cancellation"]
    assert (done["refund"], decided["reason"], decided["cancelled_on"], decided["cooling_off_last_day"]) == (
        "299.00",
        "cooling_off",
        "2026-01-15",
        "2026-01-20",
    )
    stored = kept(engine, policy["id"])
    assert stored["refund_reason"] == "cooling_off" and stored["cancelled_on"].isoformat() == "2026-01-15"
    assert (stored["refund_claims_paid"], stored["refund_claims_owed"]) == (0, 0)

    edit_cooling_off_days(engine, 0)  # the rule would now say: no cooling-off, the unearned premium
    clock.advance(days=30)  # and the clock is long past the cooling-off period
    me = login(client, ZHANG)
    assert policy_of(client, me, policy["id"])["cancellation"] == decided

    forget(engine, policy["id"])  # the same row without its decision: found again from today's rule
    rebuilt = policy_of(client, me, policy["id"])["cancellation"]
    assert rebuilt["reason"] == "unearned_premium" and rebuilt["cooling_off_last_day"] == "2026-01-05"
    assert rebuilt["refund"] == "299.00"  # the refund itself was always stored


def test_a_row_cancelled_before_the_decision_was_kept_answers_as_before(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    another_product(client, operator, insurer_id, "med-e2")  # one policy of a product at a time
    _, me = customer(client, engine, aged(ZHANG, 30))
    first = buy(client, me, "buy-1").json()
    second = buy(client, me, "buy-2", social=False, code="med-e2").json()
    clock.advance(days=10)
    me = login(client, ZHANG)
    within = cancel(client, me, first["id"], "cancel-1")
    clock.advance(days=90)  # 2026-04-15: after the cooling-off period, pro rata
    me = login(client, ZHANG)
    pro_rata = cancel(client, me, second["id"], "cancel-2")
    assert (within["cancellation"]["reason"], pro_rata["cancellation"]["reason"]) == (
        "cooling_off",
        "unearned_premium",
    )
    for done in (within, pro_rata):
        forget(engine, done["id"])
        assert kept(engine, done["id"])["refund_reason"] is None
        assert policy_of(client, me, done["id"])["cancellation"] == done["cancellation"]


def test_a_quote_before_the_cover_starts_is_dated_today_and_gives_everything_back(client, engine, clock):
    insurer_id, _ = insurer_with_product(client)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    policy = buy(client, me, "buy-1").json()  # bought on 2026-01-05, cover from 2026-01-06
    assert (policy["cover_state"], policy["start_date"]) == ("awaiting_start", "2026-01-06")
    quote = policy_of(client, me, policy["id"])["cancellation"]
    assert (quote["cancelled_on"], quote["refund"], quote["reason"]) == ("2026-01-05", "299.00", "cooling_off")
    assert quote["days_left"] == 365  # every day of cover is unearned
    assert "before the cover starts" in quote["explanation"]

    done = cancel(client, me, policy["id"], "cancel-1")  # cancelling that day does what the quote said
    assert (done["refund"], done["cancellation"]) == ("299.00", quote)
    assert kept(engine, policy["id"])["cancelled_on"].isoformat() == "2026-01-05"
    assert balance(engine, f"wallet.{zhang}") == WALLET
    clock.advance(days=3)
    me = login(client, ZHANG)
    assert policy_of(client, me, policy["id"])["cancellation"] == quote
    assert_audit_clean(engine)


def test_before_the_cover_starts_everything_comes_back_even_without_a_cooling_off_period(client, engine, clock):
    insurer_with_product(client)
    _, me = customer(client, engine, aged(ZHANG, 30))
    edit_cooling_off_days(engine, 0)
    policy = buy(client, me, "buy-1").json()
    quote = policy_of(client, me, policy["id"])["cancellation"]
    assert (quote["cancelled_on"], quote["refund"], quote["reason"]) == ("2026-01-05", "299.00", "cooling_off")
    assert cancel(client, me, policy["id"], "cancel-1")["refund"] == "299.00"
