"""Every end-of-day answer in the same words, from `puhui eod`, from each job's own command and over HTTP, on
SQLite and PostgreSQL (`puhui.eod.answers`): a day's date is `business_date`, a date run before says
`already_done`. A new-user pass found `date` beside `business_date`, and `ran` beside `already_done`."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import transaction
from puhui.payments import settlement
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_RICH
from puhui.payments.bank.sandbox.shared import SharedSandboxBank
from puhui.wealth.funds.tables import fund_eod_runs
from puhui.wealth.mmf.tables import mmf_eod_runs
from tests.payments.test_settlement import ADMIN, BANK_KEY, INDEX_KEY, K1, client  # noqa: F401 - the fixture
from tests.test_eod_day_over import TODAY, busy_day, no_kept_bank  # noqa: F401 - the fixture
from tests.wealth.mmf_world import at

runner = CliRunner()
RETIRED = {"date", "ran"}  # the words some answers used for `business_date` and (negated) `already_done`
KNOWS_IF_DONE = {"lending", "money_market", "funds", "insurance"}  # the jobs that can tell a date ran before
NEXT_DAY = "2026-01-06"


def keys(answer: object) -> set[str]:
    """Every key anywhere in `answer`."""
    if isinstance(answer, dict):
        return set(answer) | {k for value in answer.values() for k in keys(value)}
    if isinstance(answer, list):
        return {k for item in answer for k in keys(item)}
    return set()


def days(answer: dict | list) -> list[dict]:
    """A job's answer for each day it ran: the date asked for, and the days of a gap run first."""
    if isinstance(answer, list):  # the money-market funds: a fund-day each
        return answer
    return [answer, *answer.get("caught_up", [])]


def assert_in_one_vocabulary(job: str, answer: dict | list, day: str, already_done: bool | None) -> None:
    assert not keys(answer) & RETIRED, (job, answer)
    assert days(answer), (job, answer)
    for ran in days(answer):
        assert ran["business_date"] == day, (job, ran)
        if already_done is not None and job in KNOWS_IF_DONE:
            assert ran["already_done"] is already_done, (job, ran)


def as_stored_before(engine) -> None:  # type: ignore[no-untyped-def]
    """The funds' stored summaries as written before the answers had one vocabulary: `date`."""

    def old(summary: str) -> str:
        return json.dumps({("date" if k == "business_date" else k): v for k, v in json.loads(summary).items()})

    def rewrite(uow) -> None:  # type: ignore[no-untyped-def]
        rewritten = 0
        for table, key in (
            (mmf_eod_runs, (mmf_eod_runs.c.fund_code, mmf_eod_runs.c.business_date)),
            (fund_eod_runs, (fund_eod_runs.c.business_date,)),
        ):
            for row in uow.execute(select(table)).mappings().all():
                where = [column == row[column.name] for column in key]
                uow.execute(table.update().where(*where).values(summary=old(row["summary"])))
                rewritten += 1
        assert rewritten >= 2  # a money-market fund-day and a funds' day

    transaction(engine, rewrite)


def test_every_end_of_day_answer_says_business_date_and_already_done(
    client,  # noqa: F811
    engine,
    db_url,
    clock,
    tmp_path,
    monkeypatch,
    no_kept_bank,  # noqa: F811
):
    busy_day(client, engine, clock)
    clock.set(at(NEXT_DAY, "00:05"))  # TODAY is over
    state = tmp_path / "bank.json"
    SharedSandboxBank.adopt(state, SandboxBank(BANK_KEY, reserve_balance=10_000_00), BANK_KEY)
    monkeypatch.setenv("PUHUI_PII_KEYS", f"k1:{K1}")
    monkeypatch.setenv("PUHUI_PII_INDEX_KEY", INDEX_KEY)
    monkeypatch.setattr(settlement, "vault_cards", lambda vault: lambda connection, merchant: CARD_RICH)
    everything = ["eod", "--date", TODAY, "--db", db_url, "--bank-state", str(state)]

    first = runner.invoke(app, everything)
    assert first.exit_code == 0, first.output
    answer = json.loads(first.stdout)
    assert answer["money_market"], answer  # a fund-day ran: its words are checked too
    for job, ran in answer.items():
        assert_in_one_vocabulary(job, ran, TODAY, already_done=False)

    as_stored_before(engine)  # a database the funds' end of day wrote before: its summaries said `date`
    again = runner.invoke(app, everything)
    assert again.exit_code == 0, again.output
    for job, ran in json.loads(again.stdout).items():
        assert_in_one_vocabulary(job, ran, TODAY, already_done=True)

    own = {  # each job's own command, for the date already run
        "lending": ["lending", "eod"],
        "supplychain": ["supplychain", "mature"],
        "insurance": ["insurance", "eod"],
        "wealth": ["wealth", "eod"],
    }
    for job, argv in own.items():
        printed = runner.invoke(app, [*argv, "--date", TODAY, "--db", db_url])
        assert printed.exit_code == 0, (argv, printed.output)
        ran = json.loads(printed.stdout)
        for name, part in ran.items() if job == "wealth" else ((job, ran),):
            assert_in_one_vocabulary(name, part, TODAY, already_done=True)

    clock.set(at("2026-01-07", "00:05"))  # the next day over: over HTTP, as the console runs it
    calls = {
        "reconciliation": ("/v1/reconciliation/runs", {"business_date": NEXT_DAY}),
        "settlement": ("/v1/settlements", {"business_date": NEXT_DAY}),
        "lending": ("/v1/lending/eod", {"business_date": NEXT_DAY}),
        "money_market": ("/v1/wealth/eod", {"business_date": NEXT_DAY}),
        "funds": ("/v1/wealth/funds-eod", {"business_date": NEXT_DAY}),
    }
    for job, (path, body) in calls.items():
        ran = client.post(path, headers={**ADMIN, "Idempotency-Key": f"v-{job}"}, json=body)
        assert ran.status_code == 200, (path, ran.text)
        answer = ran.json()["runs"] if job == "money_market" else ran.json()
        assert_in_one_vocabulary(job, answer, NEXT_DAY, already_done=False)


def test_the_published_end_of_day_answers_use_the_one_vocabulary(client) -> None:  # noqa: F811
    schemas = client.app.openapi()["components"]["schemas"]
    answers = {
        "ReconciliationRun",
        "SettlementRun",
        "LendingEodRun",
        "FundDay",
        "FundsDay",
        "FundsEodRun",
    }
    for name in answers:
        properties = schemas[name]["properties"]
        assert "business_date" in properties and not set(properties) & RETIRED, (name, sorted(properties))
    for name in answers - {"ReconciliationRun", "SettlementRun"}:
        assert schemas[name]["properties"]["already_done"]["type"] == "boolean", name
