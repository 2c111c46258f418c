"""A remittance names the insurer's own money inside `held` (`insurer_funding`, 理赔备付金), on SQLite and
PostgreSQL, so an insurer tells its premiums from its own funding; each funding is counted once, by the first
remittance made after it arrived, and a remittance made before it was recorded (migration 0046) answers the
same from the held money's history.

    first:  funded 50,000.00 + premium 299.00 (Zhang) → held 50,299.00, insurer_funding 50,000.00
    second: kept back 10,000.00 + funded 1,000.00 + premium 688.00 (Li) → held 11,688.00, insurer_funding 1,000.00
    third:  nothing funded since → insurer_funding 0.00"""

from __future__ import annotations

from decimal import Decimal

from puhui.insurance.settlement.tables import insurer_remittances
from tests.identity.helpers import LI, ZHANG
from tests.insurance.ages import aged
from tests.insurance.test_insurance_http import (  # noqa: F401 - the client fixture
    assert_audit_clean,
    buy,
    call,
    client,
    customer,
    insurer_with_product,
)
from tests.insurance.test_settlement_http import TERMS, remit, set_terms


def funding(client, operator: dict, insurer_id: str, key: str, amount: str) -> None:  # type: ignore[no-untyped-def]
    answer = call(client, f"/v1/insurance/insurers/{insurer_id}/funding", operator, key, {"amount": amount})
    assert answer.status_code == 201, answer.text


def listed(client, operator: dict, insurer_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    answer = client.get(f"/v1/insurance/insurers/{insurer_id}/remittances", headers=operator)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_remittance_names_the_insurers_own_funding_inside_held(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    assert set_terms(client, operator, insurer_id, body={**TERMS, "claims_float": "10000.00"}).status_code == 200
    funding(client, operator, insurer_id, "f-1", "50000.00")
    _, zhang = customer(client, engine, aged(ZHANG, 30))
    assert buy(client, zhang, "z-1").status_code == 201
    clock.advance(days=1)  # 2026-01-06
    first = remit(client, operator, insurer_id, "2026-01-05", "r-1").json()
    assert (first["held"], first["insurer_funding"], first["premiums"]) == ("50299.00", "50000.00", "299.00")
    assert first["claims_float_kept"] == "10000.00"

    funding(client, operator, insurer_id, "f-2", "1000.00")
    _, li = customer(client, engine, aged(LI, 30))
    assert buy(client, li, "l-1", social=False).status_code == 201
    clock.advance(days=1)  # 2026-01-07
    second = remit(client, operator, insurer_id, "2026-01-06", "r-2").json()
    assert (second["held"], second["insurer_funding"], second["premiums"]) == ("11688.00", "1000.00", "688.00")
    premiums_held = Decimal(second["held"]) - Decimal(second["insurer_funding"])
    assert premiums_held == Decimal(first["claims_float_kept"]) + Decimal(second["premiums"])

    clock.advance(days=1)  # 2026-01-08: nothing funded since
    third = remit(client, operator, insurer_id, "2026-01-07", "r-3").json()
    assert third["insurer_funding"] == "0.00"
    assert listed(client, operator, insurer_id) == [first, second, third]

    with engine.begin() as connection:  # as remittances made before migration 0046
        connection.execute(insurer_remittances.update().values(insurer_funding=None))
    assert listed(client, operator, insurer_id) == [first, second, third]
    with engine.begin() as connection:  # and before 0045 as well
        connection.execute(insurer_remittances.update().values(held=None, later_premiums=None))
    assert listed(client, operator, insurer_id) == [first, second, third]
    assert_audit_clean(engine)


def test_a_funding_after_a_remittance_before_the_migration_is_counted_once(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    assert set_terms(client, operator, insurer_id, body={**TERMS, "claims_float": "100.00"}).status_code == 200
    funding(client, operator, insurer_id, "f-1", "500.00")
    clock.advance(days=1)
    first = remit(client, operator, insurer_id, "2026-01-05", "r-1").json()
    assert (first["held"], first["insurer_funding"], first["remitted"]) == ("500.00", "500.00", "400.00")
    with engine.begin() as connection:  # the first made before migration 0046
        connection.execute(insurer_remittances.update().values(insurer_funding=None))
    funding(client, operator, insurer_id, "f-2", "20.00")
    clock.advance(days=1)
    second = remit(client, operator, insurer_id, "2026-01-06", "r-2").json()
    assert (second["held"], second["insurer_funding"]) == ("120.00", "20.00")
    assert listed(client, operator, insurer_id) == [first, second]
