"""End of day runs a business date only once it is over, on SQLite and PostgreSQL (a new-user pass found
`puhui eod` and /ops/actions running lending and the funds for today at 09:37, paying money-market income
for a day still in progress). Today is refused as `business_date_not_over` and changes nothing: by
`puhui eod`, by every job's own command and by every job's API. Once the day is over (China midnight) the
whole end of day runs, reconciliation with the bank and merchant settlement (T+1) first."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import reading
from puhui.eod.tables import eod_runs
from puhui.ledger.tables import transfers
from puhui.payments import settlement
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_RICH
from puhui.payments.bank.sandbox.shared import STATE_ENV, SharedSandboxBank
from puhui.payments.settlement_tables import settlements
from puhui.wealth.mmf import service as mmf
from tests.payments.test_settlement import (  # noqa: F401 - the HTTP client fixture
    ADMIN,
    BANK_KEY,
    INDEX_KEY,
    K1,
    D,
    client,
    fund,
    make_customer,
    make_merchant,
    pay,
)
from tests.wealth.mmf_world import World, at

runner = CliRunner()
TODAY = D.isoformat()  # the clock fixture's business date, 2026-01-05
ALL_JOBS = ["reconciliation", "settlement", "lending", "supplychain", "money_market", "funds", "insurance"]


@pytest.fixture
def no_kept_bank(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PUHUI_ENV_FILE", raising=False)
    monkeypatch.delenv(STATE_ENV, raising=False)


def state_of(engine) -> dict:  # type: ignore[no-untyped-def]
    """What an end of day would change: the dates run, the ledger's transfers, the merchants' settlements."""
    with reading(engine) as connection:
        return {
            "runs": connection.execute(select(eod_runs.c.job, eod_runs.c.business_date)).all(),
            "transfers": connection.execute(select(func.count()).select_from(transfers)).scalar_one(),
            "settlements": connection.execute(select(func.count()).select_from(settlements)).scalar_one(),
        }


def busy_day(client, engine, clock) -> tuple[str, str]:  # type: ignore[no-untyped-def]  # noqa: F811
    """A day with a merchant paid and a money-market subscription: the merchant's id and the investor's."""
    _, phone = make_customer(client, engine, "13812345678", "531", 100_00)
    merchant_id, shop = make_merchant(client)
    pay(client, phone, merchant_id, shop, "50.00")
    world = World(engine, clock)
    investor = world.customer()
    fund(engine, f"wallet.{investor}", 2_000_00, investor)  # no bank order: the day's statement stays empty
    world.subscribe(investor, 1_000_00)
    return merchant_id, investor


def order_statuses(engine, investor: str) -> list[str]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return [order["status"] for order in mmf.orders_of(connection, investor)]


def test_puhui_eod_refuses_today_changes_nothing_and_runs_once_the_day_is_over(
    client, engine, db_url, clock, tmp_path, monkeypatch, no_kept_bank
):  # noqa: F811
    merchant_id, investor = busy_day(client, engine, clock)
    before = state_of(engine)
    for moment in ("09:37", "23:59"):  # the new user's 09:37, and the day's last minute
        clock.set(at(TODAY, moment))
        refused = runner.invoke(app, ["eod", "--date", TODAY, "--db", db_url])
        assert refused.exit_code == 2, refused.output
        [line] = refused.output.splitlines()
        assert line.startswith("business_date_not_over: ") and "2026-01-04" in line, line
        assert state_of(engine) == before and order_statuses(engine, investor) == ["pending"]

    clock.set(at("2026-01-06", "00:05"))  # the day is over: its end of day runs, the bank's day first
    state = tmp_path / "bank.json"
    bank = SharedSandboxBank.adopt(state, SandboxBank(BANK_KEY, reserve_balance=10_000_00), BANK_KEY)
    monkeypatch.setenv("PUHUI_PII_KEYS", f"k1:{K1}")
    monkeypatch.setenv("PUHUI_PII_INDEX_KEY", INDEX_KEY)
    monkeypatch.setattr(settlement, "vault_cards", lambda vault: lambda connection, merchant: CARD_RICH)
    ran = runner.invoke(app, ["eod", "--date", TODAY, "--db", db_url, "--bank-state", str(state)])
    assert ran.exit_code == 0, ran.output
    answer = json.loads(ran.output)
    assert list(answer) == ALL_JOBS
    assert (answer["reconciliation"]["business_date"], answer["reconciliation"]["open"]) == (TODAY, 0)
    [paid] = [row for row in answer["settlement"]["settlements"] if row["merchant_id"] == merchant_id]
    assert Decimal(paid["gross"]) == Decimal("50.00") and Decimal(paid["net"]) == Decimal("49.70")
    assert bank.query(paid["order_id"]).order_id == paid["order_id"]  # sent to the bank
    with reading(engine) as connection:
        done = dict(connection.execute(select(eod_runs.c.job, eod_runs.c.business_date)).all())
    assert done == dict.fromkeys(
        (
            "reconciliation",
            "settlement",
            "lending",
            "supplychain.mature",
            "wealth.mmf",
            "wealth.funds",
            "insurance.reserves",
        ),
        TODAY,
    )


def test_without_a_bank_reconciliation_is_left_out_and_said_and_settlement_holds_the_payouts(
    client, engine, db_url, clock, no_kept_bank
):  # noqa: F811
    merchant_id, _ = busy_day(client, engine, clock)
    clock.set(at("2026-01-06", "00:05"))
    ran = runner.invoke(app, ["eod", "--date", TODAY, "--db", db_url])
    assert ran.exit_code == 0, ran.output
    note, printed = ran.output.splitlines()
    assert note.startswith("reconciliation left out: ") and "--bank-state" in note, note
    answer = json.loads(printed)
    assert list(answer) == ALL_JOBS and answer["reconciliation"]["skipped"] == "bank_unknown"
    [held] = [row for row in answer["settlement"]["settlements"] if row["merchant_id"] == merchant_id]
    assert held["state"] == "pending"  # for the server's bank worker to send
    with reading(engine) as connection:
        jobs = {job for (job,) in connection.execute(select(eod_runs.c.job))}
    assert "settlement" in jobs and "reconciliation" not in jobs


COMMANDS = [
    ["lending", "eod", "--date", TODAY],
    ["wealth", "eod", "--date", TODAY],
    ["wealth", "funds-eod", "--date", TODAY],
    ["supplychain", "mature", "--date", TODAY],
    ["insurance", "eod", "--date", TODAY],
    ["insurance", "remit", "--insurer", "ptn_nobody", "--through", TODAY],
    ["securities", "clear", "--date", TODAY],
    ["settle", "--date", TODAY],
    ["reconcile", "--date", TODAY],
    ["regtech", "report", "large-value", "--date", TODAY],
]


def test_every_jobs_own_command_refuses_today_and_changes_nothing(client, engine, db_url, clock, no_kept_bank):  # noqa: F811
    busy_day(client, engine, clock)
    clock.set(at(TODAY, "09:37"))
    before = state_of(engine)
    for argv in COMMANDS:
        refused = runner.invoke(app, [*argv, "--db", db_url])
        assert refused.exit_code == 2, (argv, refused.output)
        assert refused.output.startswith("business_date_not_over: "), (argv, refused.output)
        assert len(refused.output.splitlines()) == 1, (argv, refused.output)
    assert state_of(engine) == before


CALLS = [
    ("/v1/lending/eod", {"business_date": TODAY}),
    ("/v1/wealth/eod", {"business_date": TODAY}),
    ("/v1/wealth/funds-eod", {"business_date": TODAY}),
    ("/v1/settlements", {"business_date": TODAY}),
    ("/v1/reconciliation/runs", {"business_date": TODAY}),
    ("/v1/securities/clearing", {"business_date": TODAY}),
    ("/v1/regtech/reports/large-value", {"business_date": TODAY}),
    ("/v1/insurance/insurers/ptn_nobody/remittances", {"through": TODAY}),
]


def test_every_jobs_api_refuses_today_with_a_problem_and_changes_nothing(client, engine, clock):  # noqa: F811
    busy_day(client, engine, clock)
    clock.set(at(TODAY, "09:37"))
    before = state_of(engine)
    for n, (path, body) in enumerate(CALLS):
        refused = client.post(path, headers={**ADMIN, "Idempotency-Key": f"today-{n}"}, json=body)
        assert refused.status_code == 409, (path, refused.text)
        problem = refused.json()
        assert problem["code"] == "business_date_not_over" and problem["latest"] == "2026-01-04", (path, problem)
        assert refused.headers["content-type"].startswith("application/problem+json"), path
    assert state_of(engine) == before
    clock.set(at("2026-01-06", "00:00"))  # midnight: the day is over, and the same calls run
    ran = client.post("/v1/settlements", headers={**ADMIN, "Idempotency-Key": "over"}, json={"business_date": TODAY})
    assert ran.status_code == 200 and ran.json()["business_date"] == TODAY, ran.text
    assert state_of(engine)["settlements"] > before["settlements"]


def test_a_t_plus_1_job_is_asked_for_the_date_it_settles(client, engine, clock):  # noqa: F811
    """Settlement of D runs on D+1: the rule is on D (over), not on D+1 (the day it runs, not over)."""
    clock.set(at("2026-01-06", "09:00"))
    tomorrow = (D + dt.timedelta(days=1)).isoformat()
    for n, day in enumerate((tomorrow, TODAY)):
        headers = {**ADMIN, "Idempotency-Key": f"t1-{n}"}
        answer = client.post("/v1/settlements", headers=headers, json={"business_date": day})
        assert answer.status_code == (409 if day == tomorrow else 200), answer.text
