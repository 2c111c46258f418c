"""`puhui securities robo …` on SQLite and PostgreSQL: subscribe, status, rebalance, mark and report a
customer's portfolio; a refusal prints its problem and exits non-zero."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from puhui.cli import app
from tests.identity.helpers import LI, WANG, ZHANG
from tests.securities.test_brokerage_http import assert_audit_clean, client, deposit, investor  # noqa: F401
from tests.securities.test_robo_execution import START, assess, quote_both_sides

runner = CliRunner()


def robo(db_url: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["securities", "robo", *args, "--db", db_url])


def test_the_robo_commands_subscribe_read_rebalance_mark_and_report(client, engine, clock, db_url):  # noqa: F811
    customer, _ = investor(client, engine, ZHANG, 120_000_00)
    refused = robo(db_url, "status", "--customer", customer)
    assert refused.exit_code != 0 and "robo_not_subscribed" in refused.output
    assess(engine, customer, highest=True)
    makers = [investor(client, engine, person, 300_000_00)[0] for person in (LI, WANG)]
    for maker in makers:
        for code in START:
            deposit(engine, maker, code, 200_000)
    quote_both_sides(engine, makers, START, "c0")
    low = robo(db_url, "subscribe", "--customer", customer, "--amount", "100.00", "--key", "s0")
    assert low.exit_code != 0 and "robo_amount_below_minimum" in low.output
    made = robo(db_url, "subscribe", "--customer", customer, "--amount", "100000.00", "--key", "s1")
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["cash"] == "722.61"
    status = json.loads(robo(db_url, "status", "--customer", customer).output)
    assert [h["units"] for h in status["holdings"]] == [11_800, 10_200, 4_300, 1_500]  # by code
    rebalanced = json.loads(robo(db_url, "rebalance", "--customer", customer, "--key", "r1").output)
    assert rebalanced["run"]["orders"] == []
    assert json.loads(robo(db_url, "mark").output) == {"customers": [customer]}
    report = json.loads(robo(db_url, "report", "--customer", customer).output)
    assert report["fees_paid"] == "27.39" and len(report["days"]) == 1
    assert_audit_clean(engine)
