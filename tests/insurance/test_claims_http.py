"""Medical claims (理赔) over HTTP on SQLite and PostgreSQL, with hand-computed figures: a claim paid
straight through from the insurer's held premiums to the wallet; the waiting period (等待期) and an
excluded condition pay nothing; the deductible (免赔额) is used up across two claims of a year and the
annual limit caps a third; a duplicate, another's policy and bad input are refused and change nothing;
a large claim waits for review and racing approvals pay it once; short held money leaves a claim
approved and unpaid until the insurer's money is there. The reserves read the same claims."""

from __future__ import annotations

import base64
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier

from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.insurance import service
from puhui.insurance.claims import queries
from puhui.insurance.claims import service as claims_service
from puhui.insurance.claims.tables import CLAIMS_TABLES
from puhui.ledger.tables import transfers
from tests.identity.helpers import LI, ZHANG, login, make_staff
from tests.insurance.ages import aged
from tests.insurance.test_insurance_http import (
    PRODUCT,
    WALLET,
    assert_audit_clean,
    balance,
    buy,
    call,
    client,  # noqa: F401 - the fixture
    customer,
    fund,
    insurer_with_product,
    problem,
    snapshot,
)

RECEIPT = base64.b64encode("住院发票 No. 0001 ¥25,000.00".encode()).decode()
DOCS = [{"name": "invoice.pdf", "media_type": "application/pdf", "content": RECEIPT}]
CAPITAL = 500_000_00  # what the insurer has put in its held account besides premiums


def claims_snapshot(engine) -> dict:  # type: ignore[no-untyped-def]
    state = snapshot(engine)
    with engine.connect() as connection:
        for table in CLAIMS_TABLES:
            state[table.name] = sorted(map(tuple, connection.execute(select(table)).all()), key=repr)
    return state


def claim(client, me: dict, key: str, policy_id: str, **given):  # type: ignore[no-untyped-def]
    body = {
        "policy_id": policy_id,
        "kind": "accident",
        "condition": "S82",
        "event_date": "2026-01-10",
        "billed": "25000.00",
        "social_insurance_paid": "5000.00",
        "documents": DOCS,
        **given,
    }
    return call(client, "/v1/insurance/claims", me, key, body)


def insured(client, engine, clock, fund_insurer: bool = True):  # type: ignore[no-untyped-def]
    """An insurer with its capital held, and Zhang with a policy (30, social insurance: 299.00) from
    2026-01-06, on 2026-01-15 (ten days into cover)."""
    insurer_id, operator = insurer_with_product(client)
    if fund_insurer:
        fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    policy = buy(client, me, "buy-1").json()
    clock.advance(days=10)
    return insurer_id, zhang, login(client, ZHANG), policy


def test_claim_paid_straight_through(client, engine, clock):
    insurer_id, zhang, me, policy = insured(client, engine, clock)
    paid = claim(client, me, "claim-1", policy["id"])
    assert paid.status_code == 201, paid.text
    got = paid.json()
    # 25,000 billed less 5,000 social insurance = 20,000; less the 10,000 deductible; ratio 1 with social
    assert (got["status"], got["benefit"], got["deductible_applied"], got["reasons"]) == (
        "paid",
        "10000.00",
        "10000.00",
        ["paid"],
    )
    assert got["paid_date"] == "2026-01-15" and got["documents"][0]["size"] == len(base64.b64decode(RECEIPT))
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 10_000_00
    assert balance(engine, service.premium_held_account(insurer_id)) == CAPITAL + 299_00 - 10_000_00
    assert client.get(f"/v1/insurance/claims/{got['id']}", headers=me).json() == got
    with reading(engine) as connection:
        payments = queries.claim_payments(connection, dt.date(2026, 1, 15))
        assert queries.claim_payments(connection, dt.date(2026, 1, 14)) == []
        assert queries.open_claims(connection, dt.date(2026, 1, 15)) == []
    assert payments == [
        queries.ClaimPayment(
            got["id"],
            policy["id"],
            insurer_id,
            "med-e",
            dt.date(2026, 1, 10),
            dt.date(2026, 1, 15),
            dt.date(2026, 1, 15),
            Decimal("10000.00"),
        )
    ]
    assert_audit_clean(engine)


def test_waiting_period_and_excluded_condition_pay_nothing(client, engine, clock):
    insurer_id, zhang, me, policy = insured(client, engine, clock)
    waiting = claim(client, me, "claim-1", policy["id"], kind="illness", condition="J18")
    assert waiting.status_code == 201, waiting.text
    assert (waiting.json()["status"], waiting.json()["benefit"], waiting.json()["reasons"]) == (
        "declined",
        "0.00",
        ["waiting_period"],
    )
    accident = claim(client, me, "claim-2", policy["id"], event_date="2026-01-11")
    assert accident.json()["status"] == "paid"  # an accident has no waiting period
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 10_000_00
    assert_audit_clean(engine)


def test_another_diagnosis_the_same_day_for_the_same_amount_is_another_event(client, engine, clock):
    """After an illness declined in the waiting period, an accident the same day for the same bill with the same
    papers is a claim of its own (it was refused as the same papers before); the illness's papers again are not."""
    insurer_id, zhang, me, policy = insured(client, engine, clock)
    illness = claim(client, me, "claim-1", policy["id"], kind="illness", condition="J18")
    assert illness.json()["reasons"] == ["waiting_period"]
    accident = claim(client, me, "claim-2", policy["id"])  # S82 on 2026-01-10, 25,000.00, the same invoice
    assert accident.status_code == 201 and accident.json()["status"] == "paid", accident.text
    before = claims_snapshot(engine)
    again = claim(client, me, "claim-3", policy["id"], kind="illness", condition="J18")
    problem(again, 409, "claim_duplicate")
    assert illness.json()["id"] in again.json()["detail"] and claims_snapshot(engine) == before
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 10_000_00
    assert_audit_clean(engine)


def test_excluded_condition_pays_nothing(client, engine, clock):
    from tests.insurance.test_underwriting_http import NO, add_product
    from tests.insurance.test_underwriting_http import buy as buy_answered

    insurer_id, operator = insurer_with_product(client)
    fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    add_product(client, operator, insurer_id, "med-q", waiting_days=0)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    policy = buy_answered(client, me, "buy-1", "med-q", {**NO, "diabetes": True}).json()
    clock.advance(days=10)
    me = login(client, ZHANG)
    excluded = claim(client, me, "claim-1", policy["id"], kind="illness", condition="E11")
    assert (excluded.json()["status"], excluded.json()["reasons"]) == ("declined", ["excluded_condition"])
    other = claim(client, me, "claim-2", policy["id"], kind="illness", condition="J18", event_date="2026-01-14")
    assert (other.json()["status"], other.json()["benefit"]) == ("paid", "10000.00")
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 10_000_00
    assert_audit_clean(engine)


def test_deductible_used_across_two_claims(client, engine, clock):
    _, zhang, me, policy = insured(client, engine, clock)
    first = claim(client, me, "claim-1", policy["id"], billed="8000.00", social_insurance_paid="0.00").json()
    # 8,000 is within the 10,000 deductible: nothing paid, 8,000 of it used
    assert (first["status"], first["benefit"], first["deductible_applied"]) == ("declined", "0.00", "8000.00")
    second = claim(client, me, "claim-2", policy["id"], billed="5000.00", social_insurance_paid="0.00").json()
    # 2,000 of the deductible left: 5,000 - 2,000 = 3,000 paid
    assert (second["status"], second["benefit"], second["deductible_applied"]) == ("paid", "3000.00", "2000.00")
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 3_000_00
    assert_audit_clean(engine)


def test_annual_limit_caps_the_year(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    limited = {**PRODUCT, "code": "med-l", "insurer_id": insurer_id, "deductible": "0.00", "annual_limit": "5000.00"}
    assert call(client, "/v1/insurance/products", operator, "prod-l", limited).status_code == 201
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    policy = call(
        client,
        "/v1/insurance/policies",
        me,
        "buy-l",
        {
            "product_code": "med-l",
            "product_version": 1,
            "social_insurance": True,
            "disclosure": "须知",
            "confirmations": ["已阅读"],
        },
    ).json()
    clock.advance(days=10)
    me = login(client, ZHANG)
    free = {"social_insurance_paid": "0.00"}  # three events (days) of the year, a bill each
    one = claim(client, me, "c-1", policy["id"], billed="4000.00", **free).json()
    two = claim(client, me, "c-2", policy["id"], billed="3000.00", event_date="2026-01-11", **free).json()
    three = claim(client, me, "c-3", policy["id"], billed="500.00", event_date="2026-01-12", **free).json()
    assert (one["benefit"], two["benefit"], three["benefit"]) == ("4000.00", "1000.00", "0.00")
    assert (three["status"], three["reasons"]) == ("declined", ["limit_reached"])
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 5_000_00
    assert_audit_clean(engine)


def test_refusals_change_nothing(client, engine, clock):
    insurer_id, zhang, me, policy = insured(client, engine, clock)
    assert claim(client, me, "claim-1", policy["id"]).status_code == 201
    _, li = customer(client, engine, LI)
    before = claims_snapshot(engine)
    problem(claim(client, me, "dup", policy["id"]), 409, "claim_duplicate")
    problem(claim(client, li, "another", policy["id"], event_date="2026-01-12"), 404, "policy_not_found")
    problem(claim(client, me, "unknown", "pol_nope"), 404, "policy_not_found")
    problem(claim(client, me, "neg", policy["id"], billed="-5.00"), 422, "invalid_input")
    problem(claim(client, me, "zero", policy["id"], billed="0.00"), 422, "invalid_input")
    problem(claim(client, me, "social", policy["id"], social_insurance_paid="30000.00"), 422, "claim_amounts_invalid")
    problem(claim(client, me, "early", policy["id"], event_date="2026-01-05"), 422, "claim_outside_cover")
    problem(claim(client, me, "future", policy["id"], event_date="2026-01-16"), 422, "claim_event_in_future")
    bad_doc = [{"name": "x", "media_type": "image/png", "content": "!!!!"}]
    assert claim(client, me, "doc", policy["id"], documents=bad_doc).status_code == 422
    assert claims_snapshot(engine) == before
    assert (
        client.post(f"/v1/insurance/claims/{'clm_x'}/approve", headers={**me, "Idempotency-Key": "a"}).status_code
        == 403
    )
    assert_audit_clean(engine)


def test_large_claim_waits_for_review_and_racing_approvals_pay_once(client, engine, clock):
    insurer_id, zhang, me, policy = insured(client, engine, clock)
    large = claim(client, me, "claim-1", policy["id"], billed="80000.00", social_insurance_paid="0.00").json()
    # 80,000 less the 10,000 deductible = 70,000, above the 50,000 straight-through limit
    assert (large["status"], large["benefit"], large["reasons"]) == ("review", "70000.00", ["amount_above_threshold"])
    no_docs = claim(client, me, "claim-2", policy["id"], event_date="2026-01-11", documents=[]).json()
    assert (no_docs["status"], no_docs["reasons"]) == ("review", ["documents_missing"])
    officer = make_staff(client, "risk_officer")
    queue = client.get("/v1/insurance/claims/reviews", headers=officer)
    assert {c["id"] for c in queue.json()["claims"]} == {large["id"], no_docs["id"]}
    with reading(engine) as connection:
        open_now = queries.open_claims(connection, dt.date(2026, 1, 15))
    assert {(o.claim_id, o.case_estimate, o.status) for o in open_now} == {
        (large["id"], Decimal("80000.00"), "review"),  # under review: billed less social insurance
        (no_docs["id"], Decimal("20000.00"), "review"),
    }

    barrier = Barrier(4)

    def approve(_: int) -> dict:
        barrier.wait()
        return transaction(engine, lambda uow: claims_service.approve(uow, "officer", large["id"]))

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(approve, range(4)))
    assert {a["status"] for a in answers} == {"paid"}
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 70_000_00
    with reading(engine) as connection:
        moved = connection.execute(
            select(func.count()).select_from(transfers).where(transfers.c.id == f"clm.{large['id']}")
        ).scalar_one()
    assert moved == 1
    declined = call(
        client, f"/v1/insurance/claims/{no_docs['id']}/decline", officer, "decline-1", {"reason": "no invoice"}
    )
    assert declined.status_code == 200 and declined.json()["status"] == "declined", declined.text
    problem(
        call(client, f"/v1/insurance/claims/{no_docs['id']}/approve", officer, "approve-x"), 409, "claim_not_reviewable"
    )
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 70_000_00
    assert_audit_clean(engine)


def test_short_held_money_leaves_the_claim_approved_unpaid(client, engine, clock):
    insurer_id, zhang, me, policy = insured(client, engine, clock, fund_insurer=False)
    waiting = claim(client, me, "claim-1", policy["id"])
    assert waiting.status_code == 201, waiting.text
    got = waiting.json()
    # only the 299.00 premium is held: the 10,000.00 benefit waits
    assert (got["status"], got["paid_date"], got["reasons"]) == (
        "approved",
        None,
        ["paid", "insurer_funds_insufficient"],
    )
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00
    with reading(engine) as connection:
        assert [o.case_estimate for o in queries.open_claims(connection, dt.date(2026, 1, 15))] == [Decimal("10000.00")]
    fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    operator = make_staff(client, "operator", "operator.two")
    paid = call(client, f"/v1/insurance/claims/{got['id']}/approve", operator, "approve-1")
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    assert paid.json()["reasons"] == ["paid"]
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 10_000_00
    assert_audit_clean(engine)


def test_a_cancelled_policy_declines_later_events(client, engine, clock):
    _, zhang, me, policy = insured(client, engine, clock)
    cancelled = call(client, f"/v1/insurance/policies/{policy['id']}/cancel", me, "cancel-1")
    assert cancelled.status_code == 200, cancelled.text  # on 2026-01-15, the day still covered
    clock.advance(days=5)
    me = login(client, ZHANG)
    after = claim(client, me, "claim-1", policy["id"], event_date="2026-01-16").json()
    assert (after["status"], after["benefit"], after["reasons"]) == ("declined", "0.00", ["policy_cancelled"])
    # cancelled in the cooling-off period with the whole premium back: void from the start, so an event
    # before the cancellation is not covered either (it was paid: the premium back and the claim both)
    before = claim(client, me, "claim-2", policy["id"], event_date="2026-01-15").json()
    assert (before["status"], before["benefit"], before["reasons"]) == ("declined", "0.00", ["policy_cancelled"])
    assert balance(engine, f"wallet.{zhang}") == WALLET  # the premium came back in full, nothing more
    assert_audit_clean(engine)


def test_a_policy_that_paid_a_claim_refunds_nothing_when_cancelled(client, engine, clock):
    """A new user was paid 10,000.00 on a claim, then cancelled in the cooling-off period and got the whole
    premium back as well."""
    _, zhang, me, policy = insured(client, engine, clock)
    paid = claim(client, me, "claim-1", policy["id"]).json()
    assert (paid["status"], paid["benefit"]) == ("paid", "10000.00")
    from puhui.insurance import listings

    with reading(engine) as connection:  # what the console offers before the customer cancels
        [shown] = [p for p in listings.policies_of(connection, zhang) if p["id"] == policy["id"]]
    assert shown["refund_if_cancelled"] == "0.00"
    cancelled = call(client, f"/v1/insurance/policies/{policy['id']}/cancel", me, "cancel-1")
    assert cancelled.status_code == 200 and cancelled.json()["refund"] == "0.00", cancelled.text
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 10_000_00
    assert_audit_clean(engine)


def test_a_fraud_scorer_sends_a_claim_to_review(client, engine, clock):
    _, zhang, me, policy = insured(client, engine, clock)
    client.app.state.claim_scorer = lambda facts: Decimal("0.95") if facts.billed > 20_000_00 else Decimal("0.1")
    risky = claim(client, me, "claim-1", policy["id"]).json()
    assert (risky["status"], risky["fraud_score"], risky["reasons"]) == ("review", "0.95", ["fraud_score"])
    fine = claim(
        client, me, "claim-2", policy["id"], billed="15000.00", social_insurance_paid="0.00", event_date="2026-01-11"
    ).json()
    assert (fine["status"], fine["fraud_score"], fine["benefit"]) == ("paid", "0.1", "5000.00")
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 5_000_00
    assert_audit_clean(engine)
