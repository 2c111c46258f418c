"""An insurer's first remittance (保费划转) on SQLite and PostgreSQL, through the CLI as an operator runs it:
its period starts on the insurer's onboarding date (2026-01-05), never the epoch; a date before it is
refused and moves nothing; and the answer says what `remitted` is made of, so a remittance far above the
period's premiums is explained by the insurer's own funding (理赔备付金):

    held 50,000.00 funded + 299.00 (Zhang) + 299.00 (Li, after the period) − 3,000.00 claim = 47,598.00
    remitted = held − later premiums 299.00 − commission 0.155 × 299.00 = 46.35 − claims float 10,000.00
             = 37,252.65 (against 299.00 premiums in the period)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from puhui.cli import app as puhui_cli
from puhui.insurance import service
from puhui.insurance.settlement import service as settlement
from tests.identity.helpers import LI, ZHANG, login
from tests.insurance.ages import aged
from tests.insurance.test_claims_http import claim
from tests.insurance.test_insurance_http import (  # noqa: F401 - the client fixture
    assert_audit_clean,
    balance,
    buy,
    call,
    client,
    customer,
    insurer_with_product,
    problem,
)
from tests.insurance.test_settlement_http import TERMS, set_terms, state


def remit_cli(engine, insurer_id: str, through: str):
    db = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(
        puhui_cli, ["insurance", "remit", "--insurer", insurer_id, "--through", through, "--db", db]
    )


def test_the_first_remittance_starts_at_onboarding_and_says_what_was_remitted(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)  # onboarded on 2026-01-05
    held = service.premium_held_account(insurer_id)
    assert set_terms(client, operator, insurer_id, body={**TERMS, "claims_float": "10000.00"}).status_code == 200
    funded = call(client, f"/v1/insurance/insurers/{insurer_id}/funding", operator, "f-1", {"amount": "50000.00"})
    assert funded.status_code == 201, funded.text
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    policy = buy(client, me, "z-1").json()
    assert policy["premium"] == "299.00"

    clock.advance(days=1)  # 2026-01-06: nothing was held before the onboarding date
    before = state(engine)
    early = remit_cli(engine, insurer_id, "2026-01-04")
    assert early.exit_code == 2 and "remittance_before_onboarding" in early.output, early.output
    problem(
        call(client, f"/v1/insurance/insurers/{insurer_id}/remittances", operator, "r-0", {"through": "2026-01-04"}),
        409,
        "remittance_before_onboarding",
    )
    assert {k: v for k, v in state(engine).items() if k != "outbox"} == {
        k: v for k, v in before.items() if k != "outbox"
    }

    clock.advance(days=4)  # 2026-01-10
    me = login(client, ZHANG)
    paid = claim(client, me, "claim-1", policy["id"], billed="18000.00", event_date="2026-01-10").json()
    assert (paid["status"], paid["benefit"]) == ("paid", "3000.00")
    clock.advance(days=1)  # 2026-01-11
    _, her = customer(client, engine, aged(LI, 30))
    assert buy(client, her, "l-1").json()["premium"] == "299.00"  # after the period: the next one's

    done = remit_cli(engine, insurer_id, "2026-01-10")
    assert done.exit_code == 0, done.output
    got = json.loads(done.output)
    assert (got["period_start"], got["through"]) == ("2026-01-05", "2026-01-10")
    assert (got["premiums"], got["refunds"], got["commission"], got["carried"]) == ("299.00", "0.00", "46.35", "0.00")
    assert (got["held"], got["later_premiums"], got["claims_float_kept"], got["remitted"]) == (
        "47598.00",
        "299.00",
        "10000.00",
        "37252.65",
    )
    fen = {k: int(got[k].replace(".", "")) for k in ("held", "later_premiums", "commission", "claims_float_kept")}
    assert int(got["remitted"].replace(".", "")) == (
        fen["held"] - fen["later_premiums"] - fen["commission"] - fen["claims_float_kept"]
    )
    assert balance(engine, held) == 10_000_00 + 299_00  # the float kept back and Li's premium
    assert balance(engine, settlement.COMMISSION_INCOME) == 46_35

    again = remit_cli(engine, insurer_id, "2026-01-10")  # the same date again: the same answer, nothing moved
    assert again.exit_code == 0 and json.loads(again.output) == got
    listed = client.get(f"/v1/insurance/insurers/{insurer_id}/remittances", headers=operator).json()
    assert listed == [got]
    _forget_parts(engine)  # as a remittance made before migration 0045: its parts are read from the history
    assert client.get(f"/v1/insurance/insurers/{insurer_id}/remittances", headers=operator).json() == [got]
    _forget_parts(engine)
    assert client.get(f"/v1/insurance/insurers/{insurer_id}/remittances", headers=operator).json() == [got]
    assert_audit_clean(engine)


def _forget_parts(engine) -> None:  # type: ignore[no-untyped-def]
    from puhui.insurance.settlement.tables import insurer_remittances as table

    with engine.begin() as connection:
        connection.execute(table.update().values(held=None, later_premiums=None))


def test_a_remittance_that_moves_nothing_still_says_why(client, engine, clock):
    """Only the claims float is held: nothing remitted, no commission due; the float kept is all of it."""
    insurer_id, operator = insurer_with_product(client)
    assert set_terms(client, operator, insurer_id, body={**TERMS, "claims_float": "10000.00"}).status_code == 200
    funded = call(client, f"/v1/insurance/insurers/{insurer_id}/funding", operator, "f-1", {"amount": "8000.00"})
    assert funded.status_code == 201, funded.text
    clock.advance(days=1)
    answer = call(
        client, f"/v1/insurance/insurers/{insurer_id}/remittances", operator, "r-1", {"through": "2026-01-05"}
    )
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert (got["period_start"], got["premiums"], got["commission"], got["remitted"]) == (
        "2026-01-05",
        "0.00",
        "0.00",
        "0.00",
    )
    assert (got["held"], got["later_premiums"], got["claims_float_kept"]) == ("8000.00", "0.00", "8000.00")
    clock.advance(days=1)
    more = call(client, f"/v1/insurance/insurers/{insurer_id}/funding", operator, "f-2", {"amount": "1.00"})
    assert more.status_code == 201  # later money does not change what the remittance was taken from
    assert client.get(f"/v1/insurance/insurers/{insurer_id}/remittances", headers=operator).json() == [got]
    _forget_parts(engine)
    assert client.get(f"/v1/insurance/insurers/{insurer_id}/remittances", headers=operator).json() == [got]
    assert_audit_clean(engine)
