"""What cancelling a medical policy (退保) refunds and why, on SQLite and PostgreSQL: the policy's answer
carries `cancellation` (the refund, a stable `reason` code and its explanation) while active, as a quote
that moves nothing, and once cancelled, as what was refunded.

The rule kept (`models.cancellation`): within the cooling-off period (犹豫期, 15 days from the start of
cover, here 2026-01-06 through 2026-01-20) the whole premium; after it the unearned premium; and a policy
under which a benefit was paid or approved refunds nothing, even within the cooling-off period
(已发生保险金给付的，不退还保险费). A new user was paid 3,000.00, saw "the whole premium comes back …
refund CN¥0.00", and after cancelling "Refunded CN¥0.00" with no reason: the answer now says why."""

from __future__ import annotations

import datetime as dt

from puhui import clock as clock_module
from puhui.db import reading
from puhui.insurance import listings, models, service
from tests.identity.helpers import ZHANG, login
from tests.insurance.ages import aged
from tests.insurance.test_claims_http import CAPITAL, claim
from tests.insurance.test_insurance_http import (  # noqa: F401 - the client fixture
    WALLET,
    another_product,
    assert_audit_clean,
    balance,
    buy,
    call,
    client,
    customer,
    fund,
    insurer_with_product,
    snapshot,
)


def policy_of(client, me: dict, policy_id: str) -> dict:
    answer = client.get(f"/v1/insurance/policies/{policy_id}", headers=me)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_paid_claim_is_the_reason_for_a_zero_refund_before_and_after_cancelling(client, engine, clock):
    insurer_id, _ = insurer_with_product(client)
    fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    policy = buy(client, me, "buy-1").json()
    assert policy["premium"] == "299.00"
    quote = policy["cancellation"]  # before cover starts: a cancellation today, everything back
    assert (quote["refund"], quote["reason"], quote["cooling_off_last_day"]) == ("299.00", "cooling_off", "2026-01-20")
    clock.advance(days=10)  # 2026-01-15, within the cooling-off period
    me = login(client, ZHANG)

    # 18,000 billed less 5,000 social insurance less the 10,000 deductible, ratio 1: 3,000.00 paid
    paid = claim(client, me, "claim-1", policy["id"], billed="18000.00").json()
    assert (paid["status"], paid["benefit"]) == ("paid", "3000.00")

    before = snapshot(engine)
    shown = policy_of(client, me, policy["id"])["cancellation"]  # what the customer sees before cancelling
    assert snapshot(engine) == before  # a quote moves nothing
    assert (shown["refund"], shown["reason"], shown["claims_paid"], shown["claims_owed"]) == (
        "0.00",
        "claim_paid",
        "3000.00",
        "0.00",
    )
    assert "3,000.00" in shown["explanation"] and "nothing is refunded" in shown["explanation"].lower()
    assert "whole premium" not in shown["explanation"]
    with reading(engine) as connection:  # the console's list says the same
        [listed] = [p for p in listings.policies_of(connection, zhang) if p["id"] == policy["id"]]
    assert listed["refund_if_cancelled"] == "0.00" and listed["cancellation"] == shown

    cancelled = call(client, f"/v1/insurance/policies/{policy['id']}/cancel", me, "cancel-1")
    assert cancelled.status_code == 200, cancelled.text
    done = cancelled.json()
    assert (done["status"], done["refund"]) == ("cancelled", "0.00")
    assert done["cancellation"] == {**shown, "cancelled_on": "2026-01-15"}
    clock.advance(days=3)  # read again later: the reason of the cancellation made, not of today
    me = login(client, ZHANG)
    assert policy_of(client, me, policy["id"])["cancellation"] == done["cancellation"]
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 3_000_00
    assert_audit_clean(engine)


def test_the_reason_of_a_full_and_of_a_pro_rata_refund(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    another_product(client, operator, insurer_id, "med-e2")  # one policy of a product at a time
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    first = buy(client, me, "buy-1").json()
    second = buy(client, me, "buy-2", social=False, code="med-e2").json()  # 688.00
    clock.advance(days=10)
    me = login(client, ZHANG)
    full = call(client, f"/v1/insurance/policies/{first['id']}/cancel", me, "cancel-1").json()
    assert (full["refund"], full["cancellation"]["reason"], full["cancellation"]["refund"]) == (
        "299.00",
        "cooling_off",
        "299.00",
    )
    assert "whole premium of 299.00 CNY" in full["cancellation"]["explanation"]
    assert "2026-01-20" in full["cancellation"]["explanation"]

    clock.advance(days=90)  # 2026-04-15: past the cooling-off period
    me = login(client, ZHANG)
    today = clock_module.business_date()
    with reading(engine) as connection:
        product = service.get_product(connection, "med-e2", 1)
    cover = models.Cover(dt.date(2026, 1, 6), dt.date(2027, 1, 6), 688_00)
    expected = models.cancellation_refund(product, cover, today)
    quote = policy_of(client, me, second["id"])["cancellation"]
    assert (quote["reason"], quote["days_left"]) == ("unearned_premium", (cover.end - today).days - 1)
    assert quote["refund"] == f"{expected // 100}.{expected % 100:02d}"
    done = call(client, f"/v1/insurance/policies/{second['id']}/cancel", me, "cancel-2").json()
    assert done["refund"] == quote["refund"] and done["cancellation"] == quote
    assert "unearned premium" in quote["explanation"] and "ended on 2026-01-20" in quote["explanation"]
    assert balance(engine, f"wallet.{zhang}") == WALLET - 688_00 + expected
    assert balance(engine, service.premium_held_account(insurer_id)) == 688_00 - expected
    assert_audit_clean(engine)


def test_the_rule_as_values():
    product = models.MedicalProduct("m", 1, "m", (models.AgeBand(0, 99, 299_00, 688_00),))
    cover = models.Cover(dt.date(2026, 1, 6), dt.date(2027, 1, 6), 299_00)
    within = models.cancellation(product, cover, dt.date(2026, 1, 20))
    assert (within.refund, within.reason, within.cooling_off_last_day) == (299_00, "cooling_off", dt.date(2026, 1, 20))
    after = models.cancellation(product, cover, dt.date(2026, 1, 21))
    assert after.reason == "unearned_premium" and after.refund == models.unearned_reserve(cover, dt.date(2026, 1, 21))
    claimed = models.cancellation(product, cover, dt.date(2026, 1, 10), claims_paid=3_000_00)
    assert (claimed.refund, claimed.reason) == (0, "claim_paid")
    owed = models.cancellation(product, cover, dt.date(2026, 3, 1), claims_owed=1)
    assert (owed.refund, owed.reason) == (0, "claim_paid")
