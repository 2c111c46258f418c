"""Staff read one claim by id (理赔查询) on SQLite and PostgreSQL: a risk officer, an operator and the admin
read any claim, the same answer the customer who filed it reads and with no personal information in it
(no name, ID number or phone); an unknown id is 404 `claim_not_found`; another customer reading it is a
404 too (its existence is not revealed, as for a policy); a regulator or a merchant is 403."""

from __future__ import annotations

from tests.identity.helpers import ADMIN, LI, ZHANG, make_staff
from tests.insurance.ages import aged
from tests.insurance.test_claims_http import claim, insured
from tests.insurance.test_insurance_http import client, customer, problem  # noqa: F401 - the client fixture


def test_staff_read_any_claim_by_id_and_others_do_not(client, engine, clock):
    _, _, me, policy = insured(client, engine, clock)
    filed = claim(client, me, "claim-1", policy["id"])
    assert filed.status_code == 201, filed.text
    got = filed.json()
    path = f"/v1/insurance/claims/{got['id']}"
    assert client.get(path, headers=me).json() == got

    officer = make_staff(client, "risk_officer")
    operator = make_staff(client, "operator", "operator.two")
    for staff in (officer, operator, ADMIN):
        answer = client.get(path, headers=staff)
        assert answer.status_code == 200, answer.text
        assert answer.json() == got
        # personal information stays out of it, as in the review queue: the customer by id only
        zhang = aged(ZHANG, 30)
        for secret in (zhang["name"], zhang["id_number"], zhang["phone"]):
            assert secret not in answer.text
    problem(client.get("/v1/insurance/claims/clm_nope", headers=officer), 404, "claim_not_found")
    problem(client.get("/v1/insurance/claims/clm_nope", headers=ADMIN), 404, "claim_not_found")

    _, her = customer(client, engine, aged(LI, 40))
    problem(client.get(path, headers=her), 404, "claim_not_found")  # another's claim is not revealed
    assert client.get(path, headers=make_staff(client, "regulator")).status_code == 403
    assert client.get(path).status_code == 401
