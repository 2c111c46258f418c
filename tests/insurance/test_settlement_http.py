"""Insurance slice E over HTTP and the CLI on SQLite and PostgreSQL (保费结算): an operator sets an insurer's
terms (commission 0.155, the settlement account masked); two sales and a cooling-off refund, then a sale
after the period and a claim paid from the held money; each remittance takes the commission on the
period's premiums net of refunds (half-up to the fen) and remits the rest, never more than held; remitting
a date again moves nothing; the daily partner file's totals are the held account's ledger movements;
refusals (a future date, a date not over, an unknown insurer, no terms, a closed period) change nothing;
the ledger audit passes throughout. Amounts by hand:

- period 1 (through 2026-01-15): premiums 688.00 + 899.00, refund 688.00 → net 899.00; commission
  0.155 × 899.00 = 139.345 → 139.35; remitted 899.00 − 139.35 = 759.65 (Li's 299.00 bought on 01-16 waits);
- period 2 (2026-01-16): premium 299.00, claim 50.00 → commission 0.155 × 299.00 = 46.345 → 46.35;
  remitted held 249.00 − 46.35 = 202.65; held 0.00."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

from sqlalchemy import func, select
from typer.testing import CliRunner

from puhui import clock as clock_module
from puhui.cli import app as puhui_cli
from puhui.db import reading, transaction
from puhui.insurance import service
from puhui.insurance.settlement import service as settlement
from puhui.insurance.settlement.tables import SETTLEMENT_TABLES
from puhui.ledger.models import Transfer
from puhui.ledger.service import balance_as_of, create_transfers
from puhui.ledger.tables import transfers
from tests.identity.helpers import LI, ZHANG, login
from tests.insurance.ages import aged
from tests.insurance.test_insurance_http import (  # noqa: F401 - the client fixture
    assert_audit_clean,
    balance,
    buy,
    call,
    client,
    customer,
    insurer_with_product,
    problem,
    snapshot,
)

TERMS = {
    "commission_rate": "0.155",
    "schedule": {"kind": "monthly", "value": 15},
    "bank_name": "中国工商银行 上海分行",
    "bank_account": "6222020200112233",
}


def state(engine) -> dict:  # type: ignore[no-untyped-def]
    before = snapshot(engine)
    with engine.connect() as connection:
        for table in SETTLEMENT_TABLES:
            before[table.name] = sorted(map(tuple, connection.execute(select(table)).all()), key=repr)
    return before


def set_terms(client, operator: dict, insurer_id: str, key: str = "terms-1", body: dict = TERMS):  # type: ignore[no-untyped-def]
    return client.put(
        f"/v1/insurance/insurers/{insurer_id}/terms", headers={**operator, "Idempotency-Key": key}, json=body
    )


def remit(client, operator: dict, insurer_id: str, through: str, key: str):  # type: ignore[no-untyped-def]
    return call(client, f"/v1/insurance/insurers/{insurer_id}/remittances", operator, key, {"through": through})


def pay_claim(engine, insurer_id: str, wallet: str, fen: int) -> None:  # type: ignore[no-untyped-def]
    """What the claims slice does: pay a claim from the insurer's held money."""
    move = Transfer("ins.clm_1.claim", service.premium_held_account(insurer_id), wallet, fen, "CNY", "claim")
    assert [r.value for r in transaction(engine, lambda uow: create_transfers(uow, [move]))] == ["ok"]


def movement_on(engine, account: str, day: dt.date) -> int:  # type: ignore[no-untyped-def]
    """The account's balance change over a China business date, from the ledger."""
    start, end = clock_module.day_bounds(day)
    with reading(engine) as connection:
        after, before = balance_as_of(connection, account, end - 1), balance_as_of(connection, account, start - 1)
    return (after.credits_posted - after.debits_posted) - (before.credits_posted - before.debits_posted)


def file_totals(text: str) -> dict[str, int]:
    sums: dict[str, int] = {}
    for line in text.splitlines()[1:-1]:
        kind, amount = line.split(",")[1], line.split(",")[4]
        sums[kind] = sums.get(kind, 0) + int(amount.replace(".", ""))
    return sums


def test_terms_are_data_and_the_account_is_masked(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    problem(client.get(f"/v1/insurance/insurers/{insurer_id}/terms", headers=operator), 409, "settlement_terms_missing")
    answer = set_terms(client, operator, insurer_id)
    assert answer.status_code == 200, answer.text
    terms = answer.json()
    assert terms["commission_rate"] == "0.155" and terms["bank_account"] == "************2233"
    assert terms["schedule"] == {"kind": "monthly", "value": 15} and terms["next_remittance"] == "2026-01-15"
    assert "6222020200112233" not in answer.text
    assert client.get(f"/v1/insurance/insurers/{insurer_id}/terms", headers=operator).json() == terms

    before = state(engine)
    problem(set_terms(client, operator, "nobody", "t-2"), 404, "insurer_not_found")
    assert set_terms(client, operator, insurer_id, "t-3", {**TERMS, "commission_rate": "1.5"}).status_code == 422
    monthly_31 = {**TERMS, "schedule": {"kind": "monthly", "value": 31}}
    assert set_terms(client, operator, insurer_id, "t-4", monthly_31).status_code == 422
    assert state(engine) == before


def test_remittance_takes_commission_and_remits_the_rest_once(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    held = service.premium_held_account(insurer_id)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    li, her = customer(client, engine, aged(LI, 45))
    li_20 = aged(LI, 20, phone="13998765433")
    _, her_20 = customer(client, engine, li_20)
    problem(remit(client, operator, insurer_id, "2026-01-04", "r-0"), 409, "settlement_terms_missing")
    assert set_terms(client, operator, insurer_id).status_code == 200
    refused = buy(client, me, "z-1", social=False).json()  # 688.00, refunded in the cooling-off period
    assert buy(client, her, "l-1").status_code == 201  # 899.00
    clock.advance(days=10)
    me = login(client, ZHANG)
    assert call(client, f"/v1/insurance/policies/{refused['id']}/cancel", me, "c-1").json()["refund"] == "688.00"
    clock.advance(days=1)  # 2026-01-16
    her_20 = login(client, li_20)
    assert buy(client, her_20, "l-2").json()["premium"] == "299.00"  # after the period: waits
    operator = {**operator}

    first = remit(client, operator, insurer_id, "2026-01-15", "r-1")
    assert first.status_code == 201, first.text
    got = first.json()
    assert (got["period_start"], got["through"]) == ("2026-01-05", "2026-01-15")  # the insurer's onboarding date
    # held 1587.00 - 688.00 + 299.00; Li's 299.00 bought after the period waits; no claims float in these terms
    assert (got["held"], got["later_premiums"], got["claims_float_kept"]) == ("1198.00", "299.00", "0.00")
    assert (got["premiums"], got["refunds"], got["commission"], got["remitted"]) == (
        "1587.00",
        "688.00",
        "139.35",
        "759.65",
    )
    assert got["carried"] == "0.00" and balance(engine, held) == 299_00
    assert balance(engine, settlement.COMMISSION_INCOME) == 139_35
    assert_audit_clean(engine)

    before = state(engine)
    again = remit(client, operator, insurer_id, "2026-01-15", "r-1b")  # another key, the same date
    assert again.status_code == 201 and again.json() == got
    problem(remit(client, operator, insurer_id, "2026-01-10", "r-2"), 409, "remittance_period_closed")
    problem(remit(client, operator, insurer_id, "2026-01-16", "r-3"), 409, "business_date_not_over")
    problem(remit(client, operator, insurer_id, "2026-02-01", "r-4"), 422, "business_date_in_future")
    problem(remit(client, operator, "nobody", "2026-01-15", "r-5"), 404, "insurer_not_found")
    assert remit(client, operator, insurer_id, "2026-1-15", "r-6").status_code == 422
    after = state(engine)
    assert {k: v for k, v in after.items() if k != "outbox"} == {k: v for k, v in before.items() if k != "outbox"}

    pay_claim(engine, insurer_id, f"wallet.{li}", 50_00)
    clock.advance(days=1)  # 2026-01-17
    second = remit(client, operator, insurer_id, "2026-01-16", "r-7").json()
    assert (second["period_start"], second["premiums"], second["refunds"]) == ("2026-01-16", "299.00", "0.00")
    assert (second["commission"], second["remitted"]) == ("46.35", "202.65")
    assert balance(engine, held) == 0 and balance(engine, settlement.COMMISSION_INCOME) == 185_70
    listed = client.get(f"/v1/insurance/insurers/{insurer_id}/remittances", headers=operator).json()
    assert [r["through"] for r in listed] == ["2026-01-15", "2026-01-16"]
    assert_audit_clean(engine)

    text = client.get(f"/v1/insurance/insurers/{insurer_id}/files/2026-01-16", headers=operator).text
    lines = text.splitlines()
    assert [line.split(",")[1] for line in lines[1:-1]] == ["premium", "commission", "remittance", "claim"]
    body = "\n".join(lines[:-1]) + "\n"
    assert lines[-1] == f"TRAILER,4,299.00,0.00,50.00,139.35,759.65,0.00,{hashlib.sha256(body.encode()).hexdigest()}"
    sums = file_totals(text)
    moved = sums["premium"] - sums["claim"] - sums["commission"] - sums["remittance"]
    assert moved == movement_on(engine, held, dt.date(2026, 1, 16)) == -650_00

    day_one = client.get(f"/v1/insurance/insurers/{insurer_id}/files/2026-01-05", headers=operator).text
    assert file_totals(day_one) == {"premium": 1587_00} == {"premium": movement_on(engine, held, dt.date(2026, 1, 5))}


def test_partner_file_refusals_and_the_cli(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    _, me = customer(client, engine, aged(ZHANG, 30))
    assert set_terms(client, operator, insurer_id).status_code == 200
    assert buy(client, me, "z-1").status_code == 201
    problem(
        client.get(f"/v1/insurance/insurers/{insurer_id}/files/2026-01-06", headers=operator),
        422,
        "business_date_in_future",
    )
    problem(client.get("/v1/insurance/insurers/nobody/files/2026-01-05", headers=operator), 404, "insurer_not_found")
    assert client.get(f"/v1/insurance/insurers/{insurer_id}/files/2026-13-01", headers=operator).status_code == 422
    _, customer_headers = customer(client, engine, LI, fen=0)
    assert (
        client.get(f"/v1/insurance/insurers/{insurer_id}/files/2026-01-05", headers=customer_headers).status_code == 403
    )

    db = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    listed = runner.invoke(puhui_cli, ["insurance", "insurers", "list", "--db", db])
    assert listed.exit_code == 0, listed.output
    assert '"premium_held": "299.00"' in listed.output and '"commission_rate": "0.155"' in listed.output
    shown = runner.invoke(
        puhui_cli, ["insurance", "files", "--insurer", insurer_id, "--date", "2026-01-05", "--db", db]
    )
    assert shown.exit_code == 0 and shown.output.splitlines()[-1].startswith("TRAILER,1,299.00,"), shown.output
    before = state(engine)
    future = runner.invoke(
        puhui_cli, ["insurance", "remit", "--insurer", insurer_id, "--through", "2026-02-01", "--db", db]
    )
    assert future.exit_code == 2 and "business_date_in_future" in future.output
    unknown = runner.invoke(
        puhui_cli, ["insurance", "remit", "--insurer", "nobody", "--through", "2026-01-04", "--db", db]
    )
    assert unknown.exit_code == 2 and "insurer_not_found" in unknown.output
    assert state(engine) == before

    clock.advance(days=1)
    done = runner.invoke(
        puhui_cli, ["insurance", "remit", "--insurer", insurer_id, "--through", "2026-01-05", "--db", db]
    )
    assert done.exit_code == 0, done.output
    assert '"commission": "46.35"' in done.output and '"remitted": "252.65"' in done.output
    with reading(engine) as connection:
        moved = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
    assert (
        runner.invoke(
            puhui_cli, ["insurance", "remit", "--insurer", insurer_id, "--through", "2026-01-05", "--db", db]
        ).exit_code
        == 0
    )
    with reading(engine) as connection:
        assert connection.execute(select(func.count()).select_from(transfers)).scalar_one() == moved
    assert_audit_clean(engine)


def test_claims_spend_the_held_money_so_commission_waits_and_held_never_goes_negative(client, engine, clock):
    """299.00 sold, a 280.00 claim paid from it: of the 46.35 commission only the 19.00 held is taken and
    27.35 is carried; a later 200.00 sale pays 0.155 × 200.00 + 27.35 = 58.35 and remits 141.65."""
    insurer_id, operator = insurer_with_product(client)
    held = service.premium_held_account(insurer_id)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    # a 10-year-old's own account (the minimum age lowered for the test), for a sale in the 0-17 band
    client.app.state.settings = client.app.state.settings.model_copy(update={"min_customer_age": 10})
    child = aged(ZHANG, 10, phone="13812345679")
    customer(client, engine, child)
    assert set_terms(client, operator, insurer_id).status_code == 200
    assert buy(client, me, "z-1").status_code == 201
    pay_claim(engine, insurer_id, f"wallet.{zhang}", 280_00)
    clock.advance(days=1)
    first = remit(client, operator, insurer_id, "2026-01-05", "r-1").json()
    assert (first["commission"], first["remitted"], first["carried"]) == ("19.00", "0.00", "27.35")
    assert balance(engine, held) == 0
    assert buy(client, login(client, child), "z-2").json()["premium"] == "200.00"
    clock.advance(days=1)
    second = remit(client, operator, insurer_id, "2026-01-06", "r-2").json()
    assert (second["premiums"], second["commission"], second["remitted"]) == ("200.00", "58.35", "141.65")
    assert second["carried"] == "0.00" and balance(engine, held) == 0
    assert balance(engine, settlement.COMMISSION_INCOME) == 77_35
    assert_audit_clean(engine)


def test_racing_remittances_of_one_date_move_the_money_once(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    _, me = customer(client, engine, aged(ZHANG, 45))
    assert set_terms(client, operator, insurer_id).status_code == 200
    assert buy(client, me, "z-1").status_code == 201  # 899.00
    clock.advance(days=1)
    answers: list[dict] = []
    failures: list[BaseException] = []
    start = threading.Barrier(5)

    def run() -> None:
        start.wait()
        try:
            answers.append(transaction(engine, lambda uow: settlement.remit(uow, insurer_id, dt.date(2026, 1, 5))))
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and len(answers) == 5 and all(a == answers[0] for a in answers)
    assert (answers[0]["commission"], answers[0]["remitted"]) == ("139.35", "759.65")
    assert balance(engine, service.premium_held_account(insurer_id)) == 0
    assert balance(engine, settlement.COMMISSION_INCOME) == 139_35
    assert_audit_clean(engine)


def test_the_insurer_funds_claims_and_remittances_keep_the_claims_float_back(client, engine, clock):
    """Terms keep 100.00 back (理赔备付金); the insurer wires 500.00 in; a 299.00 sale and a 280.00 claim:
    commission 0.155 × 299.00 = 46.345 → 46.35, remitted 519.00 − 46.35 − 100.00 = 372.65, 100.00 stays."""
    insurer_id, operator = insurer_with_product(client)
    held = service.premium_held_account(insurer_id)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    terms = set_terms(client, operator, insurer_id, body={**TERMS, "claims_float": "100.00"}).json()
    assert terms["claims_float"] == "100.00"
    before = state(engine)
    for bad in ({"amount": "-5.00"}, {"amount": "0"}, {"amount": "1.234"}, {}):
        answer = call(client, f"/v1/insurance/insurers/{insurer_id}/funding", operator, f"f-{sorted(bad.items())}", bad)
        assert answer.status_code == 422, answer.text
    problem(
        call(client, "/v1/insurance/insurers/nobody/funding", operator, "f-x", {"amount": "1.00"}),
        404,
        "insurer_not_found",
    )
    assert state(engine) == before

    funded = call(client, f"/v1/insurance/insurers/{insurer_id}/funding", operator, "f-1", {"amount": "500.00"})
    assert funded.status_code == 201, funded.text
    assert (funded.json()["amount"], funded.json()["held"]) == ("500.00", "500.00")
    again = call(client, f"/v1/insurance/insurers/{insurer_id}/funding", operator, "f-1", {"amount": "500.00"})
    assert again.json() == funded.json() and balance(engine, held) == 500_00
    assert buy(client, me, "z-1").status_code == 201
    pay_claim(engine, insurer_id, f"wallet.{zhang}", 280_00)
    clock.advance(days=1)
    first = remit(client, operator, insurer_id, "2026-01-05", "r-1").json()
    assert (first["premiums"], first["commission"], first["remitted"]) == ("299.00", "46.35", "372.65")
    assert balance(engine, held) == 100_00
    text = client.get(f"/v1/insurance/insurers/{insurer_id}/files/2026-01-05", headers=operator).text
    assert [line.split(",")[1] for line in text.splitlines()[1:-1]] == ["funding", "premium", "claim"]
    assert text.splitlines()[-1].startswith("TRAILER,3,299.00,0.00,280.00,0.00,0.00,500.00,")
    assert_audit_clean(engine)
