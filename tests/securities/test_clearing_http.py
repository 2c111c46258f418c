"""Clearing and settlement after the close (清算交收), on SQLite and PostgreSQL: each customer's daily
statement (交割单) with its fees to the fen, the broker's clearing file whose totals are the trades of the
day, and the day's stamp duty and transfer fees paid on once, after the day is over."""

from __future__ import annotations

import hashlib

from puhui.securities import accounts as brokerage
from puhui.securities.clearing import FIELDS
from tests.identity.helpers import make_staff
from tests.securities.test_brokerage_http import (  # noqa: F401 - the client fixture
    assert_audit_clean,
    at,
    call,
    cash,
    client,
    order,
    problem,
    snapshot,
    two_traders,
)


def test_statements_clearing_file_and_levies_paid_once_after_the_day(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, lee, "s1", "sell", 500, "10.50").status_code == 201
    assert order(client, z, "b1", "buy", 500, "10.60").json()["status"] == "filled"
    assert order(client, z, "b2", "buy", 100, "10.00").json()["status"] == "open"  # no trade: not on the statement

    bought = client.get("/v1/securities/statements/2026-12-03", headers=z).json()
    # 500 × 10.50 = 5250.00; commission 5.00 (the minimum), transfer fee 0.0525 → 0.05
    assert [(x["side"], x["quantity"], x["average_price"], x["value"]) for x in bought["lines"]] == [
        ("buy", 500, "10.50", "5250.00")
    ]
    assert (bought["lines"][0]["commission"], bought["lines"][0]["transfer_fee"], bought["net"]) == (
        "5.00",
        "0.05",
        "-5255.05",
    )
    sold = client.get("/v1/securities/statements/2026-12-03", headers=lee).json()
    # stamp duty 2.625 → 2.63: 5250.00 − 5.00 − 2.63 − 0.05 = 5242.32
    assert (sold["lines"][0]["stamp_duty"], sold["net"]) == ("2.63", "5242.32")

    operator = make_staff(client, "operator")
    text = client.get("/v1/securities/clearing/2026-12-03", headers=operator).text
    lines = text.splitlines()
    assert lines[0] == ",".join(FIELDS)
    assert lines[1] == "600000,500,5250.00,500,5250.00,0,0.00"
    body = "\n".join(lines[:-1]) + "\n"
    assert lines[-1] == f"TRAILER,1,500,5250.00,500,5250.00,10.00,2.63,0.10,{hashlib.sha256(body.encode()).hexdigest()}"

    for url, who in (("/v1/securities/statements/9999-12-31", z), ("/v1/securities/clearing/2026-12-04", operator)):
        future = client.get(url, headers=who)  # a day not yet come answered an empty 200
        assert (future.status_code, future.json()["code"]) == (422, "business_date_in_future"), url

    before = snapshot(engine)
    problem(
        call(client, "/v1/securities/clearing", operator, "clear-early", {"business_date": "2026-12-03"}),
        409,
        "business_date_not_over",
    )
    problem(
        call(client, "/v1/securities/clearing", z, "clear-customer", {"business_date": "2026-12-02"}), 403, "forbidden"
    )
    # a Sunday is no trading day: refused as the CLI refuses it (the API cleared it, 200, with nothing to clear)
    sunday = call(client, "/v1/securities/clearing", operator, "clear-sunday", {"business_date": "2026-11-29"})
    problem(sunday, 422, "not_a_trading_day")
    assert "clear 2026-11-27" in sunday.json()["detail"] and sunday.json()["field"] == "business_date"
    assert snapshot(engine) == before

    at(clock, 9, 0, days=1)  # Friday: Thursday is over
    paid_out = cash(engine, "platform.reserve_bank.CNY")  # the bank (an asset): credits − debits
    cleared = call(client, "/v1/securities/clearing", operator, "clear-1", {"business_date": "2026-12-03"})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json() == {
        "business_date": "2026-12-03",
        "stamp_duty_paid": "2.63",
        "transfer_fee_paid": "0.10",
        "already_done": False,
    }
    assert cash(engine, brokerage.STAMP_DUTY_PAYABLE) == cash(engine, brokerage.TRANSFER_FEE_PAYABLE) == 0
    assert (
        cash(engine, "platform.reserve_bank.CNY") - paid_out == 2_73
    )  # left the bank for the tax office and registrar
    again = call(client, "/v1/securities/clearing", operator, "clear-2", {"business_date": "2026-12-03"})
    assert again.status_code == 200 and again.json() == {**cleared.json(), "already_done": True}
    assert cash(engine, brokerage.STAMP_DUTY_PAYABLE) == 0
    assert cash(engine, "platform.reserve_bank.CNY") - paid_out == 2_73
    assert_audit_clean(engine)


def test_the_clear_command_refuses_a_day_not_over_then_clears_it(client, engine, clock, db_url, tmp_path):
    from typer.testing import CliRunner

    from puhui.cli import app

    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, lee, "s1", "sell", 500, "10.50").status_code == 201
    assert order(client, z, "b1", "buy", 500, "10.60").json()["status"] == "filled"
    early = CliRunner().invoke(app, ["securities", "clear", "--date", "2026-12-03", "--db", db_url])
    assert early.exit_code == 2 and "business_date_not_over" in early.output, early.output
    at(clock, 9, 0, days=1)
    out = tmp_path / "clearing.csv"
    done = CliRunner().invoke(app, ["securities", "clear", "--date", "2026-12-03", "--db", db_url, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert '"stamp_duty_paid": "2.63"' in done.output and out.read_text().startswith(",".join(FIELDS))
    assert '"already_done": false' in done.output
    again = CliRunner().invoke(app, ["securities", "clear", "--date", "2026-12-03", "--db", db_url])
    assert again.exit_code == 0 and '"already_done": true' in again.output, again.output
    assert cash(engine, brokerage.STAMP_DUTY_PAYABLE) == 0
    assert_audit_clean(engine)


def test_an_order_left_open_at_the_close_has_its_fees_paid_on_with_its_day(client, engine, clock):
    """A buy partly filled and left open at the close books its fees when the close expires it. Cleared the next
    morning before anything moved the book, the clearing closes the day first: the fees are the day's, paid on
    at once, and nothing is left in the payable accounts once the next day's market moves on."""
    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, z, "b1", "buy", 500, "10.60").json()["status"] == "open"
    assert order(client, lee, "s1", "sell", 200, "10.50").status_code == 201  # fills 200 of z's 500
    assert cash(engine, brokerage.TRANSFER_FEE_PAYABLE) == 2  # the seller's 0.021 → 0.02; z's order is open
    operator = make_staff(client, "operator")

    at(clock, 9, 0, days=1)  # Friday morning: nothing has moved Thursday's book since 15:00
    cleared = call(client, "/v1/securities/clearing", operator, "clear-open", {"business_date": "2026-12-03"})
    assert cleared.status_code == 200, cleared.text
    # 200 × 10.60 = 2120.00 each side: transfer fees 0.02 + 0.02 (z's, booked as the close expired the rest)
    assert cleared.json()["transfer_fee_paid"] == "0.04" and cleared.json()["stamp_duty_paid"] == "1.06"
    assert cash(engine, brokerage.TRANSFER_FEE_PAYABLE) == cash(engine, brokerage.STAMP_DUTY_PAYABLE) == 0
    bought = client.get("/v1/securities/statements/2026-12-03", headers=z).json()["lines"]
    assert [(x["quantity"], x["transfer_fee"]) for x in bought] == [(200, "0.02")]

    at(clock, 9, 35, days=1)  # the next session: the book moves on, and nothing of Thursday is booked again
    assert call(client, "/v1/securities/market/advance", operator, "advance-1", {}).status_code == 200
    assert cash(engine, brokerage.TRANSFER_FEE_PAYABLE) == cash(engine, brokerage.STAMP_DUTY_PAYABLE) == 0
    assert call(client, "/v1/securities/clearing", operator, "clear-again", {"business_date": "2026-12-03"}).json() == {
        **cleared.json(),
        "already_done": True,
    }
    assert_audit_clean(engine)
