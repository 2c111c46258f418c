"""Claims soon after a policy starts (出险距生效日过近), over HTTP on SQLite and PostgreSQL.

The demo's case: 尊享e生 bought, and on the first day of cover an accident billed 25,000.00 with a
13-byte "invoice" was paid 15,000.00 at once. A product's early-claim period (`early_claim_days`, the demo
product's 30) now sends every claim for an event in it to a person (人工审核, reason `early_claim`),
accidents too, with no money moved until an officer approves; an illness in the waiting period (等待期) is
still declined `waiting_period`; from the period's last day on, claims go straight through as before; and a
product without the period (the default) pays as it did. Bad terms are refused and change nothing."""

from __future__ import annotations

import base64
import copy
import datetime as dt

from puhui import demo
from puhui.insurance import models, service
from puhui.insurance.claims.models import ClaimFacts, Decision, ReviewRules, adjudicate
from tests.identity.helpers import ZHANG, login, make_staff
from tests.insurance.ages import aged
from tests.insurance.test_claims_http import CAPITAL, DOCS, claim
from tests.insurance.test_insurance_http import (
    PRODUCT,
    WALLET,
    assert_audit_clean,
    balance,
    call,
    client,  # noqa: F401 - the fixture
    customer,
    fund,
    insurer_with_product,
    problem,
    snapshot,
)
from tests.insurance.test_underwriting_http import buy as buy_answered

INVOICE = [
    {"name": "invoice.pdf", "media_type": "application/pdf", "content": base64.b64encode(b"invoice 25000").decode()}
]
DEMO_ANSWERS = {"hypertension": False, "cancer": False}


def demo_policy(client, engine, clock):  # type: ignore[no-untyped-def]
    """The demo's 尊享e生 (its product as the demo adds it) bought by Zhang (30, social insurance:
    299.00) on 2026-01-05, its cover from 2026-01-06; the insurer's capital held. On 2026-01-06."""
    insurer_id, operator = insurer_with_product(client)
    fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    body = {**copy.deepcopy(demo.MEDICAL), "insurer_id": insurer_id}
    added = call(client, "/v1/insurance/products", operator, "prod-demo", body)
    assert added.status_code == 201, added.text
    assert (added.json()["waiting_days"], added.json()["early_claim_days"]) == (30, 30)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    policy = buy_answered(client, me, "buy-demo", demo.MEDICAL["code"], DEMO_ANSWERS)
    assert policy.status_code == 201, policy.text
    assert policy.json()["start_date"] == "2026-01-06"
    clock.advance(days=1)
    return insurer_id, zhang, login(client, ZHANG), policy.json()


def test_the_demo_accident_on_the_first_day_waits_for_a_person_then_is_paid(client, engine, clock):
    insurer_id, zhang, me, policy = demo_policy(client, engine, clock)
    held = balance(engine, service.premium_held_account(insurer_id))
    first_day = claim(
        client, me, "day-1", policy["id"], event_date="2026-01-06", social_insurance_paid="0.00", documents=INVOICE
    )
    assert first_day.status_code == 201, first_day.text
    got = first_day.json()
    # 25,000 billed, no social insurance paid, less the 10,000 deductible: 15,000 shown for review, not paid
    assert (got["status"], got["benefit"], got["reasons"], got["paid_date"]) == (
        "review",
        "15000.00",
        ["early_claim"],
        None,
    )
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00
    assert balance(engine, service.premium_held_account(insurer_id)) == held
    officer = make_staff(client, "risk_officer")
    queue = client.get("/v1/insurance/claims/reviews", headers=officer).json()["claims"]
    assert [(c["id"], c["reasons"]) for c in queue] == [(got["id"], ["early_claim"])]
    paid = call(client, f"/v1/insurance/claims/{got['id']}/approve", officer, "approve-1", {"note": "ER record seen"})
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["benefit"]) == ("paid", "15000.00")
    assert paid.json()["reasons"] == ["paid", "approved_on_review"]
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 15_000_00
    assert balance(engine, service.premium_held_account(insurer_id)) == held - 15_000_00
    assert_audit_clean(engine)


def test_an_illness_in_the_waiting_period_is_declined_not_reviewed(client, engine, clock):
    insurer_id, zhang, me, policy = demo_policy(client, engine, clock)
    ill = claim(client, me, "ill", policy["id"], kind="illness", condition="J18", event_date="2026-01-06").json()
    assert (ill["status"], ill["benefit"], ill["reasons"]) == ("declined", "0.00", ["waiting_period"])
    officer = make_staff(client, "risk_officer")
    assert client.get("/v1/insurance/claims/reviews", headers=officer).json()["claims"] == []
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00
    assert_audit_clean(engine)


def test_the_period_ends_on_its_thirtieth_day(client, engine, clock):
    """Day 0 is the first day of cover (2026-01-06): day 29 (2026-02-04) is reviewed, day 30 (2026-02-05)
    is paid straight through, an illness then too (the waiting period is over)."""
    insurer_id, zhang, me, policy = demo_policy(client, engine, clock)
    clock.advance(days=40)
    me = login(client, ZHANG)
    last = claim(client, me, "day-29", policy["id"], event_date="2026-02-04", condition="S52").json()
    assert (last["status"], last["reasons"]) == ("review", ["early_claim"])
    after = claim(client, me, "day-30", policy["id"], event_date="2026-02-05", condition="S82").json()
    assert (after["status"], after["benefit"], after["reasons"]) == ("paid", "10000.00", ["paid"])
    illness = {"kind": "illness", "condition": "J18", "event_date": "2026-02-05", "billed": "30000.00"}
    ill = claim(client, me, "ill-30", policy["id"], **illness).json()
    # 30,000 less 5,000 social insurance, the deductible used by the accident: 25,000
    assert (ill["status"], ill["benefit"]) == ("paid", "25000.00")
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 + 35_000_00
    assert_audit_clean(engine)


def test_a_product_without_the_period_pays_as_before(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    read = client.get("/v1/insurance/products/med-e/1", headers=operator).json()
    assert read["early_claim_days"] == 0
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    from tests.insurance.test_insurance_http import buy

    policy = buy(client, me, "buy-1").json()
    clock.advance(days=1)
    me = login(client, ZHANG)
    paid = claim(client, me, "day-0", policy["id"], event_date="2026-01-06", documents=DOCS).json()
    assert (paid["status"], paid["benefit"], paid["reasons"]) == ("paid", "10000.00", ["paid"])
    assert_audit_clean(engine)


def test_terms_are_stored_once_and_bad_ones_change_nothing(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    body = {**PRODUCT, "code": "med-early", "insurer_id": insurer_id, "early_claim_days": 45}
    added = call(client, "/v1/insurance/products", operator, "early-1", body)
    assert added.status_code == 201 and added.json()["early_claim_days"] == 45, added.text
    assert call(client, "/v1/insurance/products", operator, "early-2", body).json() == added.json()  # a no-op
    before = snapshot(engine)
    problem(
        call(client, "/v1/insurance/products", operator, "early-3", {**body, "early_claim_days": 30}),
        409,
        "insurance_product_exists",
    )
    for bad in (-1, 3651, "30", 1.5, None):
        answer = call(
            client,
            "/v1/insurance/products",
            operator,
            f"bad-{bad}",
            {**body, "code": "med-bad", "early_claim_days": bad},
        )
        assert answer.status_code == 422, (bad, answer.text)
    assert snapshot(engine) == before
    with engine.connect() as connection:
        assert service.get_product(connection, "med-e", 1).early_claim_days == 0
        assert service.get_product(connection, "med-early", 1).early_claim_days == 45


def _facts(event: dt.date, kind: models.LossKind = models.LossKind.accident) -> ClaimFacts:
    return ClaimFacts(kind, "S82", event, 25_000_00, 0, True, 0, 0)


def test_the_rule_as_values():
    product = models.MedicalProduct("m", 1, "m", (models.AgeBand(0, 65, 100_00, 200_00),), early_claim_days=30)
    cover = models.one_year_from(dt.date(2026, 1, 6), 299_00)
    decided = adjudicate(product, cover, True, (), None, _facts(dt.date(2026, 1, 6)), ReviewRules())
    assert (decided.decision, decided.benefit, decided.reasons) == (Decision.review, 15_000_00, ("early_claim",))
    day_30 = adjudicate(product, cover, True, (), None, _facts(dt.date(2026, 2, 5)), ReviewRules())
    assert (day_30.decision, day_30.reasons) == (Decision.approved, ("paid",))
    waived = ReviewRules(early_claims=False)
    assert adjudicate(product, cover, True, (), None, _facts(dt.date(2026, 1, 6)), waived).decision is Decision.approved
    ill = adjudicate(
        product, cover, True, (), None, _facts(dt.date(2026, 1, 7), models.LossKind.illness), ReviewRules()
    )
    assert (ill.decision, ill.reasons) == (Decision.declined, ("waiting_period",))
    large = _facts(dt.date(2026, 1, 7))
    large = ClaimFacts(large.kind, large.condition, large.event_date, 90_000_00, 0, False, 0, 0)
    both = adjudicate(product, cover, True, (), None, large, ReviewRules())
    assert both.reasons == ("amount_above_threshold", "documents_missing", "early_claim")
