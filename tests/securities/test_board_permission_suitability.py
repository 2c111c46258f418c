"""A ChiNext or STAR permission (创业板/科创板权限开通) looks at the customer's risk level (投资者适当性) on SQLite
and PostgreSQL: the boards' shares are R4, so a grant to a C1 or C3 customer — who would then be refused
every buy on the board — is a 403 `unsuitable_product` naming the level needed (C4) and changes nothing,
even with the assets; without a current assessment it is a 409 `suitability_assessment_required`; a C4
customer with the assets is granted and their order passes the permission and the suitability check."""

from __future__ import annotations

from tests.identity.helpers import ZHANG
from tests.securities.test_account_terms_http import audited, operator
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    answers,
    assert_audit_clean,
    asset_history,
    at,
    call,
    client,
    expire_assessment,
    investor,
    login,
    order,
    problem,
    snapshot,
    take_questionnaire,
)
from tests.securities.test_suitability_http import scored

CHINEXT, STAR = {"board": "chinext", "permitted": True}, {"board": "star", "permitted": True}


def test_a_board_permission_needs_a_level_that_covers_its_shares(client, engine, clock):
    zhang, z = investor(client, engine, ZHANG, 200_000_00)  # above the ChiNext threshold
    asset_history(engine, zhang)  # held for the 20 trading days before today: the assets are no obstacle
    operator_id, staff = operator(client)
    path = f"/v1/securities/accounts/{zhang}/permissions"
    clock.advance(seconds=1)
    take_questionnaire(client, z, "c1", answers(highest=False))  # the latest questionnaire: C1

    before = snapshot(engine)
    refused = call(client, path, staff, "chinext-c1", CHINEXT)
    problem(refused, 403, "unsuitable_product")
    body = refused.json()
    assert (body["level"], body["product_risk"], body["required_level"]) == ("C1", "R4", "C4")
    assert "ChiNext (创业板) permission needs a risk level" in body["detail"] and "C4 or above" in body["detail"]
    assert "current level is C1" in body["detail"]
    problem(call(client, path, staff, "star-c1", STAR), 403, "unsuitable_product")
    assert snapshot(engine) == before  # no permission, no event
    clock.advance(seconds=1)
    take_questionnaire(client, z, "c3", scored(4))  # C3: shares on the main board, not the growth boards
    before = snapshot(engine)
    problem(call(client, path, staff, "chinext-c3", CHINEXT), 403, "unsuitable_product")
    assert client.get("/v1/securities/account", headers=z).json()["chinext_permitted"] is False
    assert snapshot(engine) == before  # no permission, no event

    at(clock, 10, 0, days=1)  # the next trading day: three questionnaires a day at most
    z = login(client, ZHANG)
    expire_assessment(engine, clock, zhang)
    before = snapshot(engine)
    lapsed = call(client, path, staff, "chinext-none", CHINEXT)
    problem(lapsed, 409, "suitability_assessment_required")
    assert "ChiNext (创业板) permission" in lapsed.json()["detail"]
    assert snapshot(engine) == before
    clock.advance(seconds=1)
    take_questionnaire(client, z, "c4", scored(6))  # C4 covers R4
    asset_history(engine, zhang)
    granted = call(client, path, staff, "chinext-c4", CHINEXT)
    assert granted.status_code == 200 and granted.json()["chinext_permitted"] is True, granted.text
    # past the permission and the suitability check, the order meets the price band
    problem(order(client, z, "cyb-1", "buy", 100, "1.00", "300750"), 422, "price_outside_band")
    assert [status for status, _ in audited(engine, "securities.grant_chinext", zhang)] == [403, 403, 409, 200]
    assert_audit_clean(engine)
