"""Supply-chain finance over HTTP on SQLite and PostgreSQL: confirm → finance → mature with balances
exact to the fen, overdue and its later payment, bad input refused with nothing changed, roles,
and the ledger audit after every scenario."""

from __future__ import annotations

import base64
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum.cn import uscc
from typer.testing import CliRunner

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.cli import app as puhui_cli
from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers, get_account
from puhui.ledger.tables import accounts, transfers
from puhui.payments import reserve
from puhui.settings import Settings
from puhui.supplychain.tables import SUPPLYCHAIN_TABLES

ADMIN = {"Authorization": "Bearer test-admin-token"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
TODAY = dt.date(2026, 1, 5)  # the business date of the test clock


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token="test-admin-token",
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        jwt_ttl_seconds=900,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def merchant(client, n: int) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    body = f"9111000060003{n:04d}"
    data = {
        "name": f"企业{n}",
        "credit_code": body + uscc.calc_check_digit(body),
        "settlement_account": "110060774018010012345",
        "settlement_holder": "马晓明",
        "settlement_bank": "交通银行北京分行",
    }
    answer = client.post("/v1/merchants", headers=ADMIN, json=data)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], bearer(answer.json()["api_key"])


def fund(engine, merchant_id: str, fen: int, ref: str) -> None:  # type: ignore[no-untyped-def]
    """Money into a merchant wallet from the reserve (what a bank top-up does)."""

    def work(uow):  # type: ignore[no-untyped-def]
        done = create_transfers(
            uow, [Transfer(f"fund.{ref}", "platform.reserve_bank.CNY", f"wallet.{merchant_id}", fen, "CNY", "top_up")]
        )
        assert [r.value for r in done] == ["ok"]

    transaction(engine, work)


def balance(engine, account_id: str) -> int:  # type: ignore[no-untyped-def]
    """Credit-normal balance (wallets, income); negative for a debit-normal asset."""
    with reading(engine) as connection:
        a = get_account(connection, account_id)
    return 0 if a is None else a.credits_posted - a.debits_posted


def snapshot(engine) -> dict:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        state = {t.name: sorted(map(tuple, connection.execute(select(t)).all()), key=repr) for t in SUPPLYCHAIN_TABLES}
        state["accounts"] = connection.execute(select(accounts).order_by(accounts.c.id)).all()
        state["transfers"] = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
        state["outbox"] = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
    return state


def assert_audit_clean(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
        covered = reserve.reserve_coverage(connection).covered
    assert report.ok, report
    assert covered  # the platform's own cash backs every advance paid into a wallet


def post(client, path: str, headers: dict, key: str, json: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, headers={**headers, "Idempotency-Key": key}, json=json)


def register_core(client, core_id: str, limit: str, rate: str = "0.06") -> None:  # type: ignore[no-untyped-def]
    answer = post(
        client,
        "/v1/supplychain/core-enterprises",
        ADMIN,
        f"core-{core_id}-{limit}",
        {"merchant_id": core_id, "credit_limit": limit, "discount_rate": rate},
    )
    assert answer.status_code in (200, 201), answer.text


def confirm(client, core: dict, supplier_id: str, face: str, days: int, invoice: str):  # type: ignore[no-untyped-def]
    return post(
        client,
        "/v1/supplychain/receivables",
        core,
        f"confirm-{invoice}-{supplier_id}-{face}-{days}",
        {
            "supplier_id": supplier_id,
            "face_amount": face,
            "maturity_date": str(TODAY + dt.timedelta(days=days)),
            "invoice_ref": invoice,
        },
    )


def set_status(client, merchant_id: str, status: str) -> None:  # type: ignore[no-untyped-def]
    answer = client.put(
        f"/v1/merchants/{merchant_id}/status",
        headers={**ADMIN, "Idempotency-Key": f"st-{status}"},
        json={"status": status, "reason": "test"},
    )
    assert answer.status_code == 200, answer.text


def over(clock, day: dt.date) -> None:  # type: ignore[no-untyped-def]
    """The clock at 00:05 China time after `day`: the day is over, its end of day may run (`check_over`)."""
    clock.set(clock_module.china_midnight(day + dt.timedelta(days=1)) + dt.timedelta(minutes=5))


def mature_cli(db_url: str, day: dt.date) -> dict:
    import json

    result = CliRunner().invoke(puhui_cli, ["supplychain", "mature", "--date", str(day), "--db", db_url])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def world(client, engine):  # type: ignore[no-untyped-def]
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.test", 10_000_000_00))
    core_id, core = merchant(client, 1)
    a_id, a = merchant(client, 2)
    b_id, b = merchant(client, 3)
    register_core(client, core_id, "1000000.00")
    return {"core_id": core_id, "core": core, "a_id": a_id, "a": a, "b_id": b_id, "b": b}


def test_confirm_finance_mature_moves_money_exactly(client, engine, clock, db_url, world) -> None:  # type: ignore[no-untyped-def]
    w = world
    fund(engine, w["core_id"], 200_000_00, "core")
    financed = confirm(client, w["core"], w["a_id"], "100000.00", 90, "INV-A-1")
    assert financed.status_code == 201, financed.text
    plain = confirm(client, w["core"], w["b_id"], "20000.00", 90, "INV-B-1")
    assert plain.status_code == 201, plain.text
    rid, plain_id = financed.json()["id"], plain.json()["id"]
    core_view = client.get(f"/v1/supplychain/core-enterprises/{w['core_id']}", headers=w["core"]).json()
    assert (core_view["used"], core_view["available"]) == ("120000.00", "880000.00")

    sold = post(client, f"/v1/supplychain/receivables/{rid}/financing", w["a"], "fin-1")
    assert sold.status_code == 201, sold.text
    # 100,000.00 × 6% × 90 / 360 = 1,500.00 discount; 98,500.00 advanced to the supplier.
    assert sold.json()["financing"] == {
        "financed_on": str(TODAY),
        "discount_rate": "0.06",
        "days": 90,
        "discount": "1500.00",
        "advance": "98500.00",
    }
    assert sold.json()["status"] == "financed"
    assert balance(engine, f"wallet.{w['a_id']}") == 98_500_00
    assert balance(engine, f"scf.{rid}") == -100_000_00
    assert balance(engine, "platform.unearned_discount.CNY") == 1_500_00
    assert balance(engine, "platform.discount_income.CNY") == 0  # recognised at maturity
    assert_audit_clean(engine)
    mine = client.get("/v1/supplychain/receivables", headers=w["a"]).json()
    assert [r["id"] for r in mine] == [rid]  # a supplier sees only its own

    over(clock, TODAY + dt.timedelta(days=89))
    assert mature_cli(db_url, TODAY + dt.timedelta(days=89))["due"] == 0
    over(clock, TODAY + dt.timedelta(days=90))
    summary = mature_cli(db_url, TODAY + dt.timedelta(days=90))
    assert (summary["due"], summary["paid"], summary["overdue"]) == (2, 2, 0)
    assert balance(engine, f"wallet.{w['core_id']}") == 200_000_00 - 120_000_00
    assert balance(engine, f"wallet.{w['a_id']}") == 98_500_00
    assert balance(engine, f"wallet.{w['b_id']}") == 20_000_00
    assert balance(engine, f"scf.{rid}") == 0
    assert balance(engine, "platform.unearned_discount.CNY") == 0
    assert balance(engine, "platform.discount_income.CNY") == 1_500_00
    got = {r["id"]: r for r in client.get("/v1/supplychain/receivables", headers=ADMIN).json()}
    assert (got[rid]["status"], got[rid]["paid_to"]) == ("paid", "platform")
    assert (got[plain_id]["status"], got[plain_id]["paid_to"]) == ("paid", "supplier")
    assert client.get(f"/v1/supplychain/core-enterprises/{w['core_id']}", headers=ADMIN).json()["used"] == "0.00"
    assert_audit_clean(engine)

    before = snapshot(engine)
    assert mature_cli(db_url, TODAY + dt.timedelta(days=90))["paid"] == 0  # idempotent
    assert snapshot(engine) == before


def test_unpaid_at_maturity_turns_overdue_and_a_later_payment_clears_it(client, engine, clock, db_url, world) -> None:  # type: ignore[no-untyped-def]
    w = world
    rid = confirm(client, w["core"], w["a_id"], "5000.00", 30, "INV-O-1").json()["id"]
    assert post(client, f"/v1/supplychain/receivables/{rid}/financing", w["a"], "fin-o").status_code == 201
    early = post(client, f"/v1/supplychain/receivables/{rid}/payment", w["core"], "pay-early")
    assert (early.status_code, early.json()["code"]) == (409, "receivable_not_due")
    over(clock, TODAY + dt.timedelta(days=30))
    summary = mature_cli(db_url, TODAY + dt.timedelta(days=30))
    assert (summary["paid"], summary["overdue"]) == (0, 1)
    assert client.get(f"/v1/supplychain/receivables/{rid}", headers=w["a"]).json()["status"] == "overdue"
    before = snapshot(engine)
    assert mature_cli(db_url, TODAY + dt.timedelta(days=30))["still_overdue"] == 1
    broke = post(client, f"/v1/supplychain/receivables/{rid}/payment", w["core"], "pay-broke")
    assert (broke.status_code, broke.json()["code"]) == (409, "insufficient_funds")
    assert snapshot(engine) == before
    assert_audit_clean(engine)

    clock.advance(days=3)
    fund(engine, w["core_id"], 5_000_00, "late")
    paid = post(client, f"/v1/supplychain/receivables/{rid}/payment", w["core"], "pay-late")
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["paid_to"]) == ("paid", "platform")
    assert balance(engine, f"wallet.{w['core_id']}") == 0
    assert balance(engine, f"scf.{rid}") == 0
    # 5,000.00 × 6% × 30 / 360 = 25.00
    assert balance(engine, "platform.discount_income.CNY") == 25_00
    assert balance(engine, f"wallet.{w['a_id']}") == 4_975_00
    assert_audit_clean(engine)


def test_outsiders_cannot_learn_a_receivable_exists(client, engine, clock, world) -> None:  # type: ignore[no-untyped-def]
    """A merchant that is neither the core enterprise nor the supplier gets the same 404 acting on a
    receivable as reading it, as for one that does not exist: never a 403 that says it exists."""
    w = world
    fund(engine, w["core_id"], 10_000_00, "core")
    rid = confirm(client, w["core"], w["b_id"], "1000.00", 30, "INV-P").json()["id"]
    before = snapshot(engine)

    def problem(answer) -> dict:  # type: ignore[no-untyped-def]
        assert answer.status_code == 404, answer.text
        body = answer.json()
        return {k: v for k, v in body.items() if k not in ("instance", "request_id")}  # this request's own

    read = problem(client.get(f"/v1/supplychain/receivables/{rid}", headers=w["a"]))
    assert (read["status"], read["code"]) == (404, "receivable_not_found")
    for action in ("financing", "payment"):
        acted = problem(post(client, f"/v1/supplychain/receivables/{rid}/{action}", w["a"], f"out-{action}"))
        assert acted == read, action
        missing = problem(post(client, f"/v1/supplychain/receivables/rcv_nothing/{action}", w["a"], f"no-{action}"))
        assert missing == {**read, "detail": read["detail"].replace(rid, "rcv_nothing")}, action
    clock.advance(days=30)  # due: the outsider still learns nothing (no "not due", no "paid")
    assert problem(post(client, f"/v1/supplychain/receivables/{rid}/payment", w["a"], "out-due")) == read
    assert snapshot(engine) == before

    # its own parties know it: the one in the wrong role is told so
    wrong = [
        (
            post(client, f"/v1/supplychain/receivables/{rid}/financing", w["core"], "core-fin"),
            "not_receivable_supplier",
        ),
        (post(client, f"/v1/supplychain/receivables/{rid}/payment", w["b"], "supplier-pay"), "not_receivable_core"),
    ]
    for answer, code in wrong:
        assert (answer.status_code, answer.json()["code"]) == (403, code), answer.text
    assert snapshot(engine) == before
    paid = post(client, f"/v1/supplychain/receivables/{rid}/payment", w["core"], "core-pay")
    assert (paid.status_code, paid.json()["status"]) == (200, "paid"), paid.text
    assert problem(post(client, f"/v1/supplychain/receivables/{rid}/financing", w["a"], "out-paid")) == read
    assert_audit_clean(engine)


def test_bad_input_is_refused_and_changes_nothing(client, engine, clock, world) -> None:  # type: ignore[no-untyped-def]
    w = world
    customer = client.post("/v1/staff", headers=ADMIN, json={"handle": "reg.one", "role": "regulator"})
    regulator = bearer(customer.json()["token"])
    rid = confirm(client, w["core"], w["a_id"], "900000.00", 60, "INV-1").json()["id"]
    assert post(client, f"/v1/supplychain/receivables/{rid}/financing", w["a"], "fin-first").status_code == 201
    late_id = confirm(client, w["core"], w["b_id"], "1000.00", 10, "INV-2").json()["id"]
    held_id = confirm(client, w["core"], w["b_id"], "1000.00", 60, "INV-S").json()["id"]
    assert_audit_clean(engine)
    before = snapshot(engine)
    refusals = [
        (
            post(client, f"/v1/supplychain/receivables/{rid}/financing", w["a"], "fin-again"),
            409,
            "receivable_already_financed",
        ),
        (confirm(client, w["core"], w["b_id"], "99000.01", 30, "INV-3"), 409, "credit_limit_exceeded"),
        (
            post(client, f"/v1/supplychain/receivables/{late_id}/financing", w["a"], "fin-other"),
            404,
            "receivable_not_found",
        ),  # another supplier's: not found, as reading it is (test_outsiders_cannot_learn_a_receivable_exists)
        (confirm(client, w["core"], w["b_id"], "-5.00", 30, "INV-4"), 422, "invalid_input"),
        (confirm(client, w["core"], w["b_id"], "10.001", 30, "INV-5"), 422, "invalid_amount"),
        (confirm(client, w["core"], w["b_id"], "0", 30, "INV-6"), 422, "invalid_input"),
        (confirm(client, w["core"], w["b_id"], "10.00", 0, "INV-7"), 422, "invalid_maturity_date"),
        (confirm(client, w["core"], w["b_id"], "10.00", 400, "INV-8"), 422, "invalid_maturity_date"),
        (confirm(client, w["core"], w["core_id"], "10.00", 30, "INV-9"), 422, "supplier_is_core_enterprise"),
        (confirm(client, w["a"], w["b_id"], "10.00", 30, "INV-10"), 404, "core_enterprise_not_found"),
        (confirm(client, w["core"], "mch_nobody", "10.00", 30, "INV-11"), 404, "supplier_not_found"),
        (confirm(client, w["core"], w["a_id"], "1.00", 60, "INV-1"), 409, "invoice_already_confirmed"),
        (
            post(
                client,
                "/v1/supplychain/core-enterprises",
                ADMIN,
                "rate-high",
                {"merchant_id": w["a_id"], "credit_limit": "10.00", "discount_rate": "0.5"},
            ),
            422,
            "invalid_discount_rate",
        ),
        (
            post(
                client,
                "/v1/supplychain/core-enterprises",
                ADMIN,
                "limit-neg",
                {"merchant_id": w["a_id"], "credit_limit": "-10.00", "discount_rate": "0.05"},
            ),
            422,
            "invalid_input",
        ),
        (
            post(
                client,
                "/v1/supplychain/core-enterprises",
                regulator,
                "not-operator",
                {"merchant_id": w["a_id"], "credit_limit": "10.00", "discount_rate": "0.05"},
            ),
            403,
            "forbidden",
        ),
        (
            post(
                client,
                "/v1/supplychain/core-enterprises",
                w["core"],
                "not-operator-2",
                {"merchant_id": w["a_id"], "credit_limit": "10.00", "discount_rate": "0.05"},
            ),
            403,
            "forbidden",
        ),
        (
            post(client, f"/v1/supplychain/receivables/{rid}/payment", w["a"], "pay-not-core"),
            403,
            "not_receivable_core",
        ),
        (post(client, f"/v1/supplychain/receivables/{rid}/financing", regulator, "fin-staff"), 403, "forbidden"),
    ]
    for answer, status, code in refusals:
        assert (answer.status_code, answer.json().get("code")) == (status, code), answer.text
    assert client.get(f"/v1/supplychain/receivables/{late_id}", headers=w["a"]).status_code == 404
    assert client.get(f"/v1/supplychain/receivables/{late_id}", headers=regulator).status_code == 200
    clock.advance(days=10)  # INV-2 is due today: too late to finance
    matured = post(client, f"/v1/supplychain/receivables/{late_id}/financing", w["b"], "fin-late")
    assert (matured.status_code, matured.json()["code"]) == (409, "receivable_matured")
    assert snapshot(engine) == before

    set_status(client, w["b_id"], "suspended")  # a suspended supplier is neither paid early nor given payables
    before = snapshot(engine)
    for answer in (
        confirm(client, w["core"], w["b_id"], "10.00", 30, "INV-12"),
        post(client, f"/v1/supplychain/receivables/{held_id}/financing", w["b"], "fin-suspended"),
    ):
        assert (answer.status_code, answer.json()["code"]) == (409, "merchant_suspended"), answer.text
    assert snapshot(engine) == before
    assert_audit_clean(engine)


def test_two_financings_at_once_exactly_one_wins(client, engine, world) -> None:  # type: ignore[no-untyped-def]
    w = world
    rid = confirm(client, w["core"], w["a_id"], "10000.00", 60, "INV-R").json()["id"]

    def attempt(n: int) -> int:
        return post(client, f"/v1/supplychain/receivables/{rid}/financing", w["a"], f"race-{n}").status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = sorted(pool.map(attempt, range(4)))
    assert codes == [201, 409, 409, 409]
    assert balance(engine, f"wallet.{w['a_id']}") == 10_000_00 - 100_00  # 10,000 × 6% × 60/360 = 100.00
    assert_audit_clean(engine)


def test_concurrent_confirmations_never_exceed_the_limit(client, engine, world) -> None:  # type: ignore[no-untyped-def]
    w = world
    register_core(client, w["core_id"], "100000.00")  # lower the limit

    def attempt(n: int) -> int:
        return confirm(client, w["core"], w["a_id"] if n % 2 else w["b_id"], "30000.00", 30, f"INV-C-{n}").status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(attempt, range(8)))
    assert codes == [201, 201, 201, 409, 409, 409, 409, 409]
    with reading(engine) as connection:
        from puhui.supplychain import service

        core = service.get_core(connection, w["core_id"])
        faces = sum(r["face"] for r in service.list_receivables(connection, core_id=w["core_id"]))
    assert core["used"] == faces == 90_000_00 <= core["credit_limit"]
    listed = CliRunner().invoke(
        puhui_cli,
        [
            "supplychain",
            "receivables",
            "--core",
            w["core_id"],
            "--db",
            str(engine.url.render_as_string(hide_password=False)),
        ],
    )
    assert listed.exit_code == 0, listed.output
    assert listed.output.count('"face_amount": "30000.00"') == 3


def mature_refused(db_url: str, date: str) -> str:
    """`puhui supplychain mature --date DATE` refused: its one line (code first), exit status 2."""
    result = CliRunner().invoke(puhui_cli, ["supplychain", "mature", "--date", date, "--db", db_url])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    return result.output


def test_maturity_dates_follow_the_end_of_day_rule(client, engine, clock, db_url, world) -> None:  # type: ignore[no-untyped-def]
    """A future date is refused (it once paid receivables before maturity), and so is a date in
    another format or one skipped before the last run; a gap runs day by day, so an unpaid
    receivable is overdue from its own maturity date."""
    w = world
    fund(engine, w["core_id"], 1_000_00, "some")
    paid_id = confirm(client, w["core"], w["a_id"], "1000.00", 30, "INV-D-1").json()["id"]
    unpaid_id = confirm(client, w["core"], w["b_id"], "5000.00", 10, "INV-D-2").json()["id"]
    assert mature_refused(db_url, str(TODAY)).startswith("business_date_not_over: ")  # today is not over
    over(clock, TODAY)
    assert mature_cli(db_url, TODAY)["due"] == 0  # the first run
    before = snapshot(engine)
    for date, code in (
        (str(TODAY + dt.timedelta(days=1)), "business_date_not_over"),  # the new day has begun, not ended
        (str(TODAY + dt.timedelta(days=30)), "business_date_in_future"),
        ("2026/02/04", "date_invalid"),
        (str(TODAY - dt.timedelta(days=1)), "business_date_closed"),
    ):
        assert mature_refused(db_url, date).startswith(f"{code}: ")
    assert snapshot(engine) == before
    over(clock, TODAY + dt.timedelta(days=20))
    summary = mature_cli(db_url, TODAY + dt.timedelta(days=20))  # days 1 to 19 were missed
    assert [s["business_date"] for s in summary["caught_up"]] == [
        str(TODAY + dt.timedelta(days=n)) for n in range(1, 20)
    ]
    assert summary["caught_up"][9]["overdue"] == 1 and summary["still_overdue"] == 1
    got = {r["id"]: r for r in client.get("/v1/supplychain/receivables", headers=ADMIN).json()}
    unpaid = got[unpaid_id]
    assert (unpaid["status"], unpaid["overdue_since"]) == ("overdue", str(TODAY + dt.timedelta(days=10)))
    assert got[paid_id]["status"] == "confirmed"  # not due for ten more days
    assert_audit_clean(engine)


def test_the_advance_reaches_the_suppliers_bank_account_with_the_next_settlement(client, engine, clock, world) -> None:  # type: ignore[no-untyped-def]
    """A supplier's advance (and a plain payment at maturity) lands in its merchant wallet, which has no
    withdrawal of its own: the T+1 settlement pays it out with the acquiring takings (`other_credits`)."""
    from puhui.payments.bank.sandbox.bank import SandboxBank

    w = world
    client.app.state.bank = SandboxBank(b"k" * 32, reserve_balance=10_000_000_00, auto_open_balance=0)
    rid = confirm(client, w["core"], w["a_id"], "100000.00", 90, "INV-S-1").json()["id"]
    assert post(client, f"/v1/supplychain/receivables/{rid}/financing", w["a"], "fin-s").status_code == 201
    assert balance(engine, f"wallet.{w['a_id']}") == 98_500_00

    clock.advance(days=1)
    settle = {"business_date": str(TODAY)}
    rows = {r["merchant_id"]: r for r in post(client, "/v1/settlements", ADMIN, "st-1", settle).json()["settlements"]}
    mine = rows[w["a_id"]]
    assert (mine["gross"], mine["other_credits"], mine["net"], mine["carried"], mine["state"]) == (
        "0.00",
        "98500.00",
        "98500.00",
        "0.00",
        "pending",
    )
    assert rows[w["core_id"]]["state"] == "nothing"
    clock.advance(minutes=5)  # the bank pays out; the date run again collects the outcome
    rows = {r["merchant_id"]: r for r in post(client, "/v1/settlements", ADMIN, "st-2", settle).json()["settlements"]}
    assert rows[w["a_id"]]["state"] == "paid"
    assert balance(engine, f"wallet.{w['a_id']}") == 0
    assert_audit_clean(engine)


def test_a_receivable_paid_at_maturity_reaches_the_suppliers_bank_account(client, engine, clock, db_url, world) -> None:  # type: ignore[no-untyped-def]
    """A receivable the supplier kept (not financed) is paid into its merchant wallet by the maturity date's
    end of day (`scf_payment`), which runs once that date is over, so the money lands on the next day; that
    day's T+1 settlement pays it out as `other_credits` (the maturity date's has nothing: a date settles only
    the money up to its end), and the core enterprise, whose wallet paid, has nothing to settle."""
    from puhui.payments.bank.sandbox.bank import SandboxBank

    w = world
    client.app.state.bank = SandboxBank(b"k" * 32, reserve_balance=10_000_000_00, auto_open_balance=0)
    fund(engine, w["core_id"], 20_000_00, "core-m")
    confirm(client, w["core"], w["b_id"], "20000.00", 10, "INV-M-1")
    maturity = TODAY + dt.timedelta(days=10)
    over(clock, maturity)
    assert mature_cli(db_url, maturity)["paid"] == 1
    assert balance(engine, f"wallet.{w['b_id']}") == 20_000_00
    on_time = {"business_date": str(maturity)}
    rows = {r["merchant_id"]: r for r in post(client, "/v1/settlements", ADMIN, "st-m0", on_time).json()["settlements"]}
    assert (rows[w["b_id"]]["other_credits"], rows[w["b_id"]]["state"]) == ("0.00", "nothing")

    paid_on = maturity + dt.timedelta(days=1)
    over(clock, paid_on)
    settle = {"business_date": str(paid_on)}
    rows = {r["merchant_id"]: r for r in post(client, "/v1/settlements", ADMIN, "st-m1", settle).json()["settlements"]}
    mine = rows[w["b_id"]]
    assert (mine["gross"], mine["other_credits"], mine["net"], mine["state"]) == (
        "0.00",
        "20000.00",
        "20000.00",
        "pending",
    )
    assert rows[w["core_id"]]["state"] == "nothing"
    clock.advance(minutes=5)
    rows = {r["merchant_id"]: r for r in post(client, "/v1/settlements", ADMIN, "st-m2", settle).json()["settlements"]}
    assert rows[w["b_id"]]["state"] == "paid"
    assert balance(engine, f"wallet.{w['b_id']}") == 0
    assert_audit_clean(engine)
