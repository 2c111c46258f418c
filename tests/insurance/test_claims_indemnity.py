"""Indemnity (补偿原则) for medical claims, over HTTP on SQLite and PostgreSQL, with hand-computed figures.

The defect found on the demo: one customer with two overlapping policies of the same 百万医疗 product
claimed one 30,000.00 bill four times and the wallet gained 50,000.00. A second policy of one product
is no longer sold for an overlapping period (`policy_already_in_force`), so the overlapping policies here
are of products on the same terms (`med-e`, `med-e2`, `med-e3`), as two insurers' 百万医疗 would be.
The claims of one medical event (the insured, the event date, the diagnosis category) on every policy
add up to at most the bill less social insurance, a later claim getting what its policy's terms give on
the remainder; a second claim for the event on the same policy is refused while the first is under
review, approved or paid, and changes nothing; approving a claim under review never pays more than the
review showed; racing claims and approvals for one bill take turns; the ledger audit passes throughout.

The product (`med-e`, as the demo's `zunxiang-e`): deductible 10,000.00 a year, ratio 1 with social
insurance and 0.6 without. Other commercial cover counts toward the deductible, social insurance does
not: benefit = ratio × (bill − social insurance − max(deductible left, paid by the event's other claims))."""

from __future__ import annotations

import base64
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier

import pytest

from puhui.db import transaction
from puhui.insurance import models, service
from puhui.insurance.claims import service as claims_service
from puhui.insurance.claims.models import (
    Adjudication,
    ClaimFacts,
    Decision,
    ReviewRules,
    adjudicate,
    approve_on_review,
    event_category,
)
from puhui.insurance.errors import InsuranceProductInvalid
from tests.identity.helpers import ZHANG, login, make_staff
from tests.insurance.ages import aged
from tests.insurance.test_claims_http import CAPITAL, claims_snapshot
from tests.insurance.test_claims_models import facts
from tests.insurance.test_insurance_http import (
    another_product,
    assert_audit_clean,
    balance,
    buy,
    call,
    client,  # noqa: F401 - the fixture
    customer,
    fund,
    insurer_with_product,
    problem,
)


def _doc(name: str, text: str) -> dict[str, str]:
    return {"name": name, "media_type": "application/pdf", "content": base64.b64encode(text.encode()).decode()}


TWO_DOCS = [_doc("invoice.pdf", "住院发票 No. 7001 ¥30,000.00"), _doc("discharge.pdf", "出院小结 S52 2026-12-08")]
OTHER_DOCS = [_doc("invoice-scan.pdf", "住院发票 No. 7001 ¥30,000.00 (rescanned)")]
NOTE = {"note": "hospital confirmed the stay and the invoice by phone"}  # approving without documents says why
EVENT = {"kind": "accident", "condition": "S52", "event_date": "2026-12-08", "billed": "30000.00"}
BILL = 30_000_00


def world(client, engine, clock, socials: tuple[bool, ...]):  # type: ignore[no-untyped-def]
    """An insurer with capital held; Zhang (30) with one policy per entry of `socials` (with or without social
    insurance), of `med-e` v1 and then of copies of it (`med-e2`, `med-e3`), all from 2026-01-06; the day
    2026-12-09, the event on 2026-12-08 in every policy's cover. Answers Zhang's id, fresh headers, the
    policy ids and the wallet after the premiums."""
    insurer_id, operator = insurer_with_product(client)
    fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    policies = []
    for n, social in enumerate(socials):
        code = "med-e" if n == 0 else f"med-e{n + 1}"  # one person holds one policy of a product at a time
        if n:
            another_product(client, operator, insurer_id, code)
        bought = buy(client, me, f"buy-{n}", social=social, code=code)
        assert bought.status_code == 201, bought.text
        policies.append(bought.json()["id"])
    clock.advance(days=338)
    return zhang, login(client, ZHANG), policies, balance(engine, f"wallet.{zhang}")


def report(client, me: dict, key: str, policy_id: str, **given):  # type: ignore[no-untyped-def]
    return call(client, "/v1/insurance/claims", me, key, {"policy_id": policy_id, **EVENT, **given})


def created(answer) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == 201, answer.text
    return answer.json()


def decided(claim: dict) -> tuple:
    return claim["status"], claim["benefit"], claim["deductible_applied"], claim["reasons"]


# -- the defect as found, over HTTP ----------------------------------------------------------------


def test_the_reported_scenario_pays_one_bill_at_most_once(client, engine, clock):
    zhang, me, (a, b), wallet = world(client, engine, clock, (True, False))
    # 1. policy B (no social insurance), no documents: to review, 0.6 × (30,000 − 10,000) = 12,000 shown
    x = created(report(client, me, "claim-x", b, documents=[]))
    assert decided(x) == ("review", "12000.00", "10000.00", ["documents_missing"])
    officer = make_staff(client, "risk_officer")
    queue = client.get("/v1/insurance/claims/reviews", headers=officer).json()["claims"]
    assert [(c["id"], c["benefit"]) for c in queue] == [(x["id"], "12000.00")]
    # 2. policy A (social insurance), two documents: 30,000 − 10,000 = 20,000 paid straight through
    on_a = created(report(client, me, "claim-a", a, documents=TWO_DOCS))
    assert decided(on_a) == ("paid", "20000.00", "10000.00", ["paid"])
    # 3. policy B again with the same documents: a duplicate of X (same event, same policy), nothing changes
    before = claims_snapshot(engine)
    problem(report(client, me, "claim-b2", b, documents=TWO_DOCS), 409, "claim_duplicate")
    assert claims_snapshot(engine) == before
    # 4. approving X: B's terms on what the insured still bears after A's 20,000 (which also meets the
    # deductible): 0.6 × (30,000 − max(10,000, 20,000)) = 6,000, under the 12,000 shown
    approved = call(client, f"/v1/insurance/claims/{x['id']}/approve", officer, "approve-x", NOTE)
    assert approved.status_code == 200, approved.text
    assert decided(approved.json()) == (
        "paid",
        "6000.00",
        "10000.00",
        ["paid", "other_benefits_deducted", "approved_on_review"],
    )
    assert Decimal(approved.json()["benefit"]) <= Decimal(x["benefit"])
    gained = balance(engine, f"wallet.{zhang}") - wallet
    assert gained == 26_000_00 and gained <= BILL - 0  # at most the bill less social insurance (none here)
    assert_audit_clean(engine)


def test_three_policies_pay_at_most_the_bill_less_social_insurance(client, engine, clock):
    zhang, me, (a, c, b), wallet = world(client, engine, clock, (True, True, False))
    social = {"social_insurance_paid": "5000.00"}  # the insured bears 25,000 of the 30,000 bill
    first = created(report(client, me, "claim-a", a, documents=TWO_DOCS, **social))
    assert decided(first) == ("paid", "15000.00", "10000.00", ["paid"])  # 25,000 − 10,000
    # the same bill coded more precisely and called an illness is the same event (S52.5 is under S52):
    # 25,000 − max(10,000, 15,000) = 10,000, the rest of what the insured bears
    second = created(
        report(client, me, "claim-c", c, kind="illness", condition="S52.5", documents=OTHER_DOCS, **social)
    )
    assert decided(second) == ("paid", "10000.00", "10000.00", ["paid", "other_benefits_deducted"])
    # nothing is left for the third policy: stored and declined, as an adjudicated claim is
    third = created(report(client, me, "claim-b", b, documents=TWO_DOCS, **social))
    assert decided(third) == ("declined", "0.00", "10000.00", ["already_indemnified"])
    gained = balance(engine, f"wallet.{zhang}") - wallet
    assert gained == BILL - 5_000_00
    # another event (another diagnosis, another day) is a bill of its own; B's deductible was met by the
    # first bill, compensated by other cover: 0.6 × 15,000 = 9,000
    other = created(report(client, me, "claim-b-2", b, condition="S82", event_date="2026-12-01", billed="15000.00"))
    assert decided(other) == ("review", "9000.00", "0.00", ["documents_missing"])
    assert_audit_clean(engine)


def test_a_second_claim_for_an_event_on_the_same_policy_is_refused_and_changes_nothing(client, engine, clock):
    zhang, me, (a, b), wallet = world(client, engine, clock, (True, False))
    x = created(report(client, me, "claim-x", b, documents=[]))
    assert x["status"] == "review"
    before = claims_snapshot(engine)  # claims, policies, accounts, transfers and outbox
    # under review: other documents, another amount, another code under the same category, another kind
    problem(report(client, me, "dup-1", b, documents=TWO_DOCS), 409, "claim_duplicate")
    problem(report(client, me, "dup-2", b, documents=OTHER_DOCS, billed="28000.00"), 409, "claim_duplicate")
    problem(
        report(client, me, "dup-3", b, kind="illness", condition="S52.1", documents=TWO_DOCS), 409, "claim_duplicate"
    )
    assert claims_snapshot(engine) == before
    paid = created(report(client, me, "claim-a", a, documents=TWO_DOCS))
    assert decided(paid) == ("paid", "20000.00", "10000.00", ["paid"])
    before = claims_snapshot(engine)
    # paid: a rescanned invoice and a cent more is still the same event on the same policy
    problem(report(client, me, "dup-4", a, documents=OTHER_DOCS, billed="30000.01"), 409, "claim_duplicate")
    assert claims_snapshot(engine) == before
    assert balance(engine, f"wallet.{zhang}") - wallet == 20_000_00
    # declined on review, the event may be claimed again on B with its papers: what is left of the bill
    officer = make_staff(client, "risk_officer")
    declined = call(
        client, f"/v1/insurance/claims/{x['id']}/decline", officer, "decline-x", {"reason": "papers unreadable"}
    )
    assert declined.status_code == 200 and declined.json()["status"] == "declined", declined.text
    again = created(report(client, me, "claim-b-again", b, documents=TWO_DOCS))
    assert decided(again) == ("paid", "6000.00", "10000.00", ["paid", "other_benefits_deducted"])
    assert balance(engine, f"wallet.{zhang}") - wallet == 26_000_00
    assert_audit_clean(engine)


def test_approval_never_pays_more_than_the_review_showed(client, engine, clock):
    zhang, me, (b,), wallet = world(client, engine, clock, (False,))
    x = created(report(client, me, "claim-x", b, documents=[]))
    assert decided(x) == ("review", "12000.00", "10000.00", ["documents_missing"])
    # another event on B meets the year's deductible meanwhile: 0.6 × (12,000 − 10,000) = 1,200
    other = created(
        report(
            client, me, "claim-y", b, condition="S82", event_date="2026-12-01", billed="12000.00", documents=TWO_DOCS
        )
    )
    assert decided(other) == ("paid", "1200.00", "10000.00", ["paid"])
    # worked out again X would now pay 0.6 × 30,000 = 18,000; it pays the 12,000 the review showed
    officer = make_staff(client, "risk_officer")
    approved = call(client, f"/v1/insurance/claims/{x['id']}/approve", officer, "approve-x", NOTE)
    assert approved.status_code == 200, approved.text
    assert decided(approved.json()) == ("paid", "12000.00", "0.00", ["paid", "capped_at_review", "approved_on_review"])
    assert balance(engine, f"wallet.{zhang}") - wallet == 12_000_00 + 1_200_00
    again = call(client, f"/v1/insurance/claims/{x['id']}/approve", officer, "approve-x-2", NOTE)
    assert again.status_code == 200 and again.json() == approved.json()
    assert balance(engine, f"wallet.{zhang}") - wallet == 12_000_00 + 1_200_00
    assert_audit_clean(engine)


# -- races: the claims of one bill take turns ------------------------------------------------------


def _service_report(policy_id: str, text: str) -> claims_service.ClaimReport:
    return claims_service.ClaimReport(
        policy_id,
        models.LossKind.accident,
        "S52",
        dt.date(2026, 12, 8),
        BILL,
        0,
        (claims_service.Document("invoice.pdf", "application/pdf", text.encode()),),
    )


def test_racing_claims_on_two_policies_share_one_bill(client, engine, clock):
    zhang, _, (a, c), wallet = world(client, engine, clock, (True, True))
    barrier = Barrier(2)

    def claim_on(policy_id: str) -> dict:
        barrier.wait()
        report_ = _service_report(policy_id, f"invoice for {policy_id}")
        return transaction(engine, lambda uow: claims_service.report_claim(uow, zhang, report_, f"race-{policy_id}"))

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(claim_on, (a, c)))
    # one pays 30,000 − 10,000 = 20,000, the other 30,000 − max(10,000, 20,000) = 10,000
    assert sorted(a["benefit"] for a in answers) == ["10000.00", "20000.00"]
    assert {a["status"] for a in answers} == {"paid"}
    assert balance(engine, f"wallet.{zhang}") - wallet == BILL
    assert_audit_clean(engine)


def test_an_approval_racing_a_claim_for_the_same_bill_shares_it(client, engine, clock):
    zhang, me, (a, c), wallet = world(client, engine, clock, (True, True))
    x = created(report(client, me, "claim-x", a, documents=[]))
    assert decided(x) == ("review", "20000.00", "10000.00", ["documents_missing"])
    barrier = Barrier(2)

    def approve(_: object) -> dict:
        barrier.wait()
        return transaction(engine, lambda uow: claims_service.approve(uow, "officer", x["id"], NOTE["note"]))

    def claim_on_c(_: object) -> dict:
        barrier.wait()
        report_ = _service_report(c, "invoice for c")
        return transaction(engine, lambda uow: claims_service.report_claim(uow, zhang, report_, "race-c"))

    with ThreadPoolExecutor(2) as pool:
        approved, on_c = pool.submit(approve, None), pool.submit(claim_on_c, None)
        answers = [approved.result(), on_c.result()]
    assert sorted(a["benefit"] for a in answers) == ["10000.00", "20000.00"]
    assert balance(engine, f"wallet.{zhang}") - wallet == BILL
    assert_audit_clean(engine)


# -- the pure rules, by hand -----------------------------------------------------------------------

PRODUCT = models.MedicalProduct("med", 1, "百万医疗", (models.AgeBand(0, 65, 300_00, 600_00),))
COVER = models.Cover(dt.date(2026, 1, 6), dt.date(2027, 1, 6), 300_00)


def benefit(social: int = 0, has_social: bool = False, deductible_used: int = 0, other: int = 0) -> models.ClaimBenefit:
    day, kind = dt.date(2026, 12, 8), models.LossKind.accident
    return models.claim_benefit(PRODUCT, COVER, day, kind, BILL, social, has_social, deductible_used, 0, other)


def test_other_compensation_is_deducted_and_meets_the_deductible():
    assert benefit() == models.ClaimBenefit(BILL, 10_000_00, 12_000_00, "paid")  # 0.6 × (30,000 − 10,000)
    assert benefit(other=5_000_00).payable == 12_000_00  # within the deductible it stands in for
    assert benefit(other=20_000_00) == models.ClaimBenefit(BILL, 10_000_00, 6_000_00, "paid")  # 0.6 × 10,000
    assert benefit(social=5_000_00, has_social=True, other=15_000_00).payable == 10_000_00  # 25,000 − 15,000
    assert benefit(other=BILL) == models.ClaimBenefit(BILL, 10_000_00, 0, "already_indemnified")
    assert benefit(social=5_000_00, other=25_000_00).reason == "already_indemnified"
    assert benefit(deductible_used=10_000_00, other=BILL).payable == 0
    with pytest.raises(InsuranceProductInvalid):
        benefit(other=-1)


def test_adjudication_deducts_what_the_event_was_paid():
    decide = lambda **given: adjudicate(PRODUCT, COVER, True, (), None, facts(**given), ReviewRules())  # noqa: E731
    assert decide(other_benefits_paid=5_000_00) == Adjudication(Decision.approved, 14_000_00, 10_000_00, ("paid",))
    assert decide(other_benefits_paid=20_000_00) == Adjudication(
        Decision.approved, 4_000_00, 10_000_00, ("paid", "other_benefits_deducted")
    )
    assert decide(other_benefits_paid=24_000_00) == Adjudication(
        Decision.declined, 0, 10_000_00, ("already_indemnified",)
    )
    assert decide(other_benefits_paid=20_000_00, has_documents=False).reasons == ("documents_missing",)


def test_approval_is_held_to_the_review_figure():
    recomputed = Adjudication(Decision.approved, 18_000_00, 0, ("paid",))
    assert approve_on_review(recomputed, 12_000_00) == Adjudication(
        Decision.approved, 12_000_00, 0, ("paid", "capped_at_review")
    )
    lower = Adjudication(Decision.approved, 6_000_00, 10_000_00, ("paid", "other_benefits_deducted"))
    assert approve_on_review(lower, 12_000_00) == lower
    assert approve_on_review(recomputed, 0) == Adjudication(Decision.declined, 0, 0, ("capped_at_review",))
    nothing = Adjudication(Decision.declined, 0, 10_000_00, ("already_indemnified",))
    assert approve_on_review(nothing, 12_000_00) == nothing


def test_an_event_is_the_diagnosis_category():
    assert [event_category(c) for c in ("S52", "S52.5", "C50.9", "J18")] == ["S52", "S52", "C50", "J18"]
