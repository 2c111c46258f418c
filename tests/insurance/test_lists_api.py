"""The insurance list routes on SQLite and PostgreSQL: `GET /v1/insurance/products` (each product's newest
version, as its version's own GET answers it), `GET /v1/insurance/policies` (a customer's own, newest first;
staff any customer's) and `GET /v1/insurance/claims` (a customer's own, newest first; the staff who review
claims any customer's, by status). Each item is what the single GET of that object answers; a merchant or a
partner is 403, no token 401, a bad limit or an unknown status a 422 problem; a refused call changes
nothing."""

from __future__ import annotations

from puhui.insurance import service
from tests.identity.helpers import ADMIN, LI, MERCHANT, ZHANG, bearer, login, make_staff
from tests.insurance.ages import aged
from tests.insurance.test_claims_http import CAPITAL, claim, claims_snapshot
from tests.insurance.test_insurance_http import (
    PRODUCT,
    another_product,
    buy,
    call,
    client,  # noqa: F401 - the fixture
    customer,
    fund,
    insurer_with_product,
    problem,
)

PRODUCTS = "/v1/insurance/products"
POLICIES = "/v1/insurance/policies"
CLAIMS = "/v1/insurance/claims"


def merchant(client) -> dict:  # type: ignore[no-untyped-def]
    answer = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    assert answer.status_code == 201, answer.text
    return bearer(answer.json()["api_key"])


def partner(client) -> dict:  # type: ignore[no-untyped-def]
    answer = call(client, "/v1/partners", ADMIN, "partner-other", {"name": "某助贷机构"})
    assert answer.status_code == 201, answer.text
    return bearer(answer.json()["api_key"])


def listed(client, path: str, headers: dict, **params) -> list[dict]:  # type: ignore[no-untyped-def]
    answer = client.get(path, headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def singles(client, path: str, headers: dict, items: list[dict]) -> list[dict]:  # type: ignore[no-untyped-def]
    """Each item as its own GET answers it."""
    answers = [client.get(f"{path}/{item['id']}", headers=headers) for item in items]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return [a.json() for a in answers]


def refused_all(client, calls: list[tuple[str, dict, dict, int, str]]) -> None:  # type: ignore[no-untyped-def]
    for path, headers, params, status, code in calls:
        problem(client.get(path, headers=headers, params=params), status, code)


def test_products_list_each_codes_newest_version(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    newer = {**PRODUCT, "version": 2, "name": "尊享e生 2026版", "deductible": "5000.00", "insurer_id": insurer_id}
    assert call(client, PRODUCTS, operator, "prod-v2", newer).status_code == 201
    another_product(client, operator, insurer_id, "med-b")
    _, me = customer(client, engine, aged(ZHANG, 30), fen=0)

    expected = [
        client.get(f"{PRODUCTS}/med-b/1", headers=me).json(),
        client.get(f"{PRODUCTS}/med-e/2", headers=me).json(),
    ]
    assert [(p["code"], p["version"]) for p in expected] == [("med-b", 1), ("med-e", 2)]
    assert listed(client, PRODUCTS, me) == expected
    # any caller signed in reads them, as a version: staff, a merchant
    assert listed(client, PRODUCTS, operator) == expected
    assert listed(client, PRODUCTS, merchant(client)) == expected
    assert client.get(PRODUCTS).status_code == 401


def test_a_customer_lists_their_own_policies_newest_first_and_staff_any(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    another_product(client, operator, insurer_id, "med-b")
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    li, her = customer(client, engine, aged(LI, 40))
    first = buy(client, me, "buy-1").json()
    clock.advance(seconds=1)
    hers = buy(client, her, "buy-li").json()
    clock.advance(seconds=1)
    second = buy(client, me, "buy-2", code="med-b").json()
    clock.advance(seconds=1)
    cancelled = call(client, f"{POLICIES}/{first['id']}/cancel", me, "cancel-1")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text

    mine = listed(client, POLICIES, me)
    assert [p["id"] for p in mine] == [second["id"], first["id"]]  # newest first, not Li's
    assert mine == singles(client, POLICIES, me, mine)
    assert mine[1]["cancellation"]["reason"] == "cooling_off"  # as the single GET answers a cancelled one
    assert listed(client, POLICIES, me, customer_id=zhang) == mine  # their own id is their own list
    assert listed(client, POLICIES, me, limit=1) == mine[:1]
    assert listed(client, POLICIES, her) == singles(client, POLICIES, her, [hers])

    for staff in (operator, make_staff(client, "risk_officer"), ADMIN):
        assert listed(client, POLICIES, staff, customer_id=zhang) == mine
        assert listed(client, POLICIES, staff, customer_id=li) == singles(client, POLICIES, her, [hers])
        assert [p["id"] for p in listed(client, POLICIES, staff)] == [second["id"], hers["id"], first["id"]]
        assert listed(client, POLICIES, staff, customer_id="cus_nobody") == []

    shop, lender = merchant(client), partner(client)
    before = claims_snapshot(engine)
    refused_all(
        client,
        [
            (POLICIES, her, {"customer_id": zhang}, 403, "forbidden"),  # another's list
            (POLICIES, shop, {}, 403, "forbidden"),
            (POLICIES, lender, {}, 403, "forbidden"),
            (POLICIES, {}, {}, 401, "unauthorized"),
            (POLICIES, me, {"limit": 0}, 422, "invalid_request"),
            (POLICIES, me, {"limit": 101}, 422, "invalid_request"),
            (POLICIES, operator, {"customer_id": "no spaces"}, 422, "invalid_request"),
        ],
    )
    assert claims_snapshot(engine) == before


def insured_pair(client, engine, clock):  # type: ignore[no-untyped-def]
    """An insurer with its capital held; Zhang (30) and Li (40) each with a med-e policy from 2026-01-06, and
    on 2026-01-15 three claims, one a second apart: Zhang's paid, Li's paid, Zhang's large one under review."""
    insurer_id, operator = insurer_with_product(client)
    fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    li, her = customer(client, engine, aged(LI, 40))
    policy, hers = buy(client, me, "buy-1").json(), buy(client, her, "buy-li").json()
    clock.advance(days=10)
    me, her = login(client, aged(ZHANG, 30)), login(client, aged(LI, 40))
    paid = claim(client, me, "claim-1", policy["id"]).json()
    clock.advance(seconds=1)
    li_paid = claim(client, her, "claim-li", hers["id"]).json()
    clock.advance(seconds=1)
    large = claim(client, me, "claim-2", policy["id"], event_date="2026-01-11", billed="80000.00").json()
    assert (paid["status"], li_paid["status"], large["status"]) == ("paid", "paid", "review")
    return operator, (zhang, me, paid, large), (li, her, li_paid)


def test_a_customer_lists_their_own_claims_newest_first_and_reviewers_filter(client, engine, clock):
    operator, (zhang, me, paid, large), (li, her, li_paid) = insured_pair(client, engine, clock)

    mine = listed(client, CLAIMS, me)
    assert [c["id"] for c in mine] == [large["id"], paid["id"]]  # newest first, not Li's
    assert mine == singles(client, CLAIMS, me, mine) == [large, paid]
    assert listed(client, CLAIMS, her) == [li_paid]
    assert listed(client, CLAIMS, me, status="paid") == [paid]  # a customer may narrow their own
    assert listed(client, CLAIMS, me, customer_id=zhang, limit=1) == [large]

    officer = make_staff(client, "risk_officer")
    for staff in (officer, operator, ADMIN):
        every = listed(client, CLAIMS, staff)
        assert [c["id"] for c in every] == [large["id"], li_paid["id"], paid["id"]]
        assert every == singles(client, CLAIMS, staff, every)
        assert listed(client, CLAIMS, staff, customer_id=zhang) == mine
        assert listed(client, CLAIMS, staff, customer_id=li) == [li_paid]
        assert listed(client, CLAIMS, staff, status="review") == [large]
        assert listed(client, CLAIMS, staff, status="paid") == [li_paid, paid]
        assert listed(client, CLAIMS, staff, status="paid", customer_id=li) == [li_paid]
        assert listed(client, CLAIMS, staff, status="declined") == []
        assert listed(client, CLAIMS, staff, limit=1) == [large]
        # no personal information in a claim, as in the single GET: the customer by id only
        answer = client.get(CLAIMS, headers=staff).text
        for person in (aged(ZHANG, 30), aged(LI, 40)):
            for secret in (person["name"], person["id_number"], person["phone"]):
                assert secret not in answer

    shop, lender, regulator = merchant(client), partner(client), make_staff(client, "regulator")
    before = claims_snapshot(engine)
    refused_all(
        client,
        [
            (CLAIMS, her, {"customer_id": zhang}, 403, "forbidden"),  # another's claims
            (CLAIMS, shop, {}, 403, "forbidden"),
            (CLAIMS, lender, {}, 403, "forbidden"),
            (CLAIMS, regulator, {}, 403, "forbidden"),  # not a claims reviewer
            (CLAIMS, {}, {}, 401, "unauthorized"),
            (CLAIMS, officer, {"status": "pending"}, 422, "invalid_request"),
            (CLAIMS, me, {"status": "PAID"}, 422, "invalid_request"),
            (CLAIMS, officer, {"limit": 0}, 422, "invalid_request"),
            (CLAIMS, officer, {"limit": 101}, 422, "invalid_request"),
        ],
    )
    assert claims_snapshot(engine) == before
