"""The start banner of `puhui serve --demo`: counts in the right number ("1 repayment", not "1 repayments"),
and on a restart the figures of the database now — the money-market fund's latest seven-day yield (not the
simulated market's last day's), how many customers, payments and loans there are — with the seeded world's
counts dated by when it was seeded. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

from puhui import clock as clock_module
from puhui.db import transaction
from puhui.demo import DemoWorld
from puhui.demo_market import AS_SEEDED, DemoMarket, DemoStart, plural, read_market
from puhui.wealth.mmf.tables import mmf_daily
from tests.console.conftest import app, client, sign_up  # noqa: F401 - app, client: fixtures
from tests.console.world import merchant_qr


def test_counts_are_told_in_the_right_number() -> None:
    assert [plural(n, "repayment") for n in (0, 1, 2, 1234)] == [
        "0 repayments",
        "1 repayment",
        "2 repayments",
        "1,234 repayments",
    ]
    market = DemoMarket(
        "run_1",
        1,
        1,
        1,
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 2),
        {"qr": 1, "top_up": 1, "repayment": 1, "loan": 1},
        {"current": 1},
        "1.9",
        {"fan_in": 1},
        1,
        True,
    )
    text = market.summary("http://h")
    assert "1 repayment\n" in text and "1 QR payment," in text and "1 top-up," in text and "1 loan," in text
    assert "1 customers" not in text and "× 1 day " in text
    world = DemoWorld(
        customers=[{"phone": "1", "password": "p"}],
        merchants=[{"name": "m", "id": "mer", "api_key": "k"}],
        payments=1,
        refunds=2,
        p2p=2,
        top_ups=1,
        credit_lines=1,
        funds=1,
        seeded_at=clock_module.now_micros(),
    )
    said = world.summary()
    assert "1 customer, 1 merchant, 1 bank top-up, 1 QR payment, 2 refunds, 2 P2P transfers" in said
    assert "for 1 customer (/app/credit); 1 fund R2" in said


def test_a_restart_tells_the_figures_of_now(client, engine) -> None:  # type: ignore[no-untyped-def]
    """The simulated market ended 2026-01-03 with a 1.937% yield; the fund has published since, two people
    registered: the banner says 2.104% and 2 customers, and a saved world summary of an older start (no date)
    is said to be from then."""
    sign_up(client, 71)
    sign_up(client, 72)
    merchant_qr(client)
    rows = [("2026-01-03", "1.937"), ("2026-02-01", "2.104")]
    transaction(
        engine,
        lambda uow: [
            uow.execute(
                mmf_daily.insert().values(
                    fund_code="PH0001", business_date=day, income_per_10k=5000, seven_day_yield=y, recorded_at=0
                )
            )
            for day, y in rows
        ],
    )
    run = {
        "id": "run_old",
        "customers": 200,
        "days": 3,
        "seed": 1,
        "start_date": "2026-01-01",
        "summary": json.dumps({"done": {"qr": 10, "repayment": 1}}),
    }
    market = read_market(engine, run)
    assert market.fund_yield == "2.104"
    assert market.now is not None and market.now.customers == 2 and market.now.loans == 0
    text = DemoStart(market).summary("http://h", "6 customers, 3 merchants …")
    assert "seven-day yield (latest): 2.104%" in text and "1.937" not in text
    assert "now, in the whole database: 2 customers, 0 payments (QR and P2P)" in text
    assert "in the simulated days: 10 QR payments," in text and "1 repayment\n" in text
    assert text.startswith(AS_SEEDED + "6 customers")
