"""The operations back office (/ops) over HTTP on the demo world: every page answers for the staff roles,
the risk officer approves a held payment with its evidence shown (the money moves once, on the ledger),
a customer is shown masked and in clear only with a purpose that the audit log then lists, the ledger
explorer shows each account on its normal side, and customers or operators cannot reach what is not theirs."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from puhui.db import reading
from puhui.identity.service import customer_wallet_id
from puhui.ledger.service import get_account
from puhui.money import format_minor
from puhui.payments import risk_hook
from tests.payments.test_reviews import ThresholdCheck
from tests.risk.test_scoring_registry import small  # noqa: F401 - the fixture

from .conftest import sign_up
from .staff_world import ADMIN_TOKEN, add_staff, demo, log_in, post_form, token_of  # noqa: F401 - the fixture
from .world import ADMIN, hidden

PAGES = (
    "/ops",
    "/ops/customers",
    "/ops/merchants",
    "/ops/reviews",
    "/ops/settlements",
    "/ops/eod",
    "/ops/reserve",
    "/ops/loans",
    "/ops/funds",
    "/ops/ledger",
    "/ops/audit",
    "/ops/models",
)


@pytest.fixture
def held(demo, engine):  # type: ignore[no-untyped-def]
    """A demo customer's 500 CNY QR payment held for review by a stand-in fraud check (review from 300 CNY)."""
    client, world = demo
    risk_hook.install(engine, ThresholdCheck())
    shop, person = world.merchants[0], world.customers[0]
    key = {"Authorization": f"Bearer {shop['api_key']}"}
    qr = client.post(f"/v1/merchants/{shop['id']}/qr-codes", headers=key, json={"kind": "dynamic", "amount": "500.00"})
    login = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    me = {"Authorization": f"Bearer {login.json()['token']}"}
    paid = client.post(
        f"/v1/qr-codes/{qr.json()['id']}/pay",
        headers=me,
        json={"verification": "two_factors", "password": person["password"]},
    )
    assert paid.status_code == 202, paid.text
    yield paid.json(), person
    risk_hook.uninstall(engine)


def wallet(engine, customer_id: str) -> str:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, customer_wallet_id(customer_id))
    return format_minor(account.credits_posted - account.debits_posted, 2)


def test_every_page_answers_for_the_admin_and_the_api_decides_the_rest(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    log_in(client, ADMIN_TOKEN)
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    log_in(client, add_staff(client, "operator", "op.pages"))
    allowed = {path: client.get(path).status_code for path in PAGES}
    assert allowed.pop("/ops/ledger") == 403 and allowed.pop("/ops/audit") == 403  # the ledger and audit: admins
    assert set(allowed.values()) == {200}


def test_the_risk_officer_approves_a_held_payment_seeing_its_evidence(demo, held, engine) -> None:  # type: ignore[no-untyped-def]
    client, _ = demo
    review, person = held
    before = wallet(engine, person["id"])
    log_in(client, token_of(demo[1], "risk_officer"))
    queue = client.get("/ops/reviews").text
    assert review["review_id"] in queue and "large_for_customer" in queue and "¥500.00" in queue
    forged = client.post(f"/ops/reviews/{review['review_id']}/approve", data={"note": "ok"}, follow_redirects=False)
    assert forged.status_code == 403 and wallet(engine, person["id"]) == before
    form = hidden(queue)
    approved = client.post(
        f"/ops/reviews/{review['review_id']}/approve",
        data={**form, "note": "called the customer"},
        follow_redirects=False,
    )
    again = client.post(
        f"/ops/reviews/{review['review_id']}/approve",
        data={**form, "note": "called the customer"},
        follow_redirects=False,
    )
    assert approved.status_code == again.status_code == 303
    assert "已通过:被拦截的支付已完成。" in client.get("/ops/reviews").text
    assert Decimal(wallet(engine, person["id"])) == Decimal(before) - Decimal("500.00")  # made once


def test_a_customer_is_masked_until_revealed_with_a_purpose_and_the_reveal_is_logged(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    person = world.customers[0]
    log_in(client, token_of(world, "risk_officer"))
    masked = client.get("/ops/customers", params={"id": person["id"]}).text
    assert person["phone"] not in masked and person["name"] not in masked
    clear = client.get("/ops/customers", params={"id": person["id"], "purpose": "complaint 42"}).text
    assert person["phone"] in clear and person["name"] in clear
    log_in(client, ADMIN_TOKEN)
    audit = client.get("/ops/audit").text
    assert "complaint 42" in audit and person["id"] in audit


def test_the_ledger_explorer_shows_each_account_on_its_normal_side(demo, engine) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    person = world.customers[0]
    log_in(client, ADMIN_TOKEN)
    kinds = client.get("/ops/ledger").text
    assert "借方" in kinds and "贷方" in kinds
    account_id = customer_wallet_id(person["id"])
    page = client.get(f"/ops/ledger/{account_id}").text
    balance = Decimal(wallet(engine, person["id"]))
    assert balance > 0 and f"¥{balance:,.2f}" in page and f"-¥{balance:,.2f}" not in page  # a liability: credit side
    assert "贷方" in page
    then = client.get(f"/ops/ledger/{account_id}", params={"as_of": "2020-01-01T00:00:00+08:00"})
    assert then.status_code == 200 and "¥0.00" in then.text


def test_the_ledger_explorers_effects_add_up_to_the_posted_balance(demo, engine) -> None:  # type: ignore[no-untyped-def]
    """A top-up's hold and its posting showed its amount twice: the hold moves nothing posted."""
    from puhui.console.ops_books import posted_effect
    from puhui.ledger.service import account_history, transfer_json

    _client, world = demo
    account_id = customer_wallet_id(world.customers[0]["id"])
    with reading(engine) as connection:
        history = [transfer_json(t, 2) for t in account_history(connection, account_id, limit=10_000)]
        account = get_account(connection, account_id)
    assert any("pending" in t["flags"] for t in history) and any("post_pending" in t["flags"] for t in history)
    effects = sum(posted_effect(t, account_id, "credit") for t in history)
    assert effects == Decimal(account.credits_posted - account.debits_posted) / 100


def test_a_customer_or_a_merchant_cannot_reach_the_back_office(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    for path in PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/staff/login", path  # a visitor
    sign_up(client, 51)
    for path in PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 403 and "普惠" in answer.text, path  # a customer: refused
    log_in(client, world.merchants[0]["api_key"])
    assert {client.get(path).status_code for path in PAGES} == {403}
    refused = post_form(client, "/merchant", "/ops/funds/navs", csv="2026-01-05,PH0001,1.0")
    assert refused.status_code == 403


UNTRANSLATED = re.compile(
    r">\s*(?:status|state|class|typology|case|report|direction|flow|indicator|category|side|merchant|customer|qr|role"
    r"|exception|bucket|loan|model):[A-Za-z_]+"
)
STAFF_PAGES = (
    *PAGES,
    "/supervision",
    "/supervision/alerts",
    "/supervision/cases",
    "/supervision/reports",
    "/supervision/graph",
)


def test_staff_pages_need_no_network_and_speak_both_languages(demo) -> None:  # type: ignore[no-untyped-def]
    from .test_offline_and_catalogues import EXTERNAL

    client, world = demo
    for token, pages in ((ADMIN_TOKEN, STAFF_PAGES), (world.merchants[0]["api_key"], MERCHANT_PAGES)):
        log_in(client, token)
        for language, word in (("zh-CN", "退出"), ("en-GB", "Log out")):
            for path in pages:
                page = client.get(path, headers={"Accept-Language": language})
                assert page.status_code == 200 and word in page.text, (path, language)
                assert not EXTERNAL.search(page.text), (path, EXTERNAL.search(page.text))
                assert not UNTRANSLATED.search(page.text), (path, language, UNTRANSLATED.search(page.text))


MERCHANT_PAGES = (
    "/merchant",
    "/merchant/qr",
    "/merchant/refunds",
    "/merchant/settlements",
    "/merchant/supply-chain",
    "/merchant/return-shipping",
    "/merchant/keys",
    "/merchant/notifications",
)


def test_the_end_of_day_page_lists_the_runs_the_platform_recorded(demo, clock) -> None:  # type: ignore[no-untyped-def]
    from puhui import clock as clock_module

    client, _ = demo
    log_in(client, add_staff(client, "operator", "op.eod"))
    assert "尚未运行日终。" in client.get("/ops/eod").text
    day = clock_module.business_date()
    clock.advance(hours=24)
    settled = client.post(
        "/v1/settlements", headers={**ADMIN, "Idempotency-Key": "eod-s"}, json={"business_date": day.isoformat()}
    )
    assert settled.status_code == 200, settled.text
    runs = client.get("/ops/eod").text
    assert "settlement" in runs and f"{day.year}年{day.month}月{day.day}日" in runs and "尚未运行日终。" not in runs


def test_a_model_card_shows_its_metrics_calibration_and_scorecard_as_charts(demo, engine, small) -> None:  # type: ignore[no-untyped-def]
    from puhui.risk.scoring import service

    client, world = demo
    trained = service.train(engine, small, "scorecard", folds=2)
    log_in(client, token_of(world, "risk_officer"))
    listed = client.get("/ops/models").text
    assert f'href="/ops/models/{trained.record.id}"' in listed
    card = client.get(f"/ops/models/{trained.record.id}")
    api = client.get(f"/v1/risk/models/{trained.record.id}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    auc = Decimal(str(api["metrics"]["auc"]["mean"])).quantize(Decimal("0.0001"))
    assert card.status_code == 200 and str(auc) in card.text
    for chart in ("metrics", "calibration", "scorecard"):
        section = card.text[card.text.index(f'data-testid="{chart}"') :]
        assert section.index('<svg class="chart"') < section.index("</section>"), chart


def test_reserve_loan_book_and_fund_uploads_show_what_the_api_holds(demo, engine) -> None:  # type: ignore[no-untyped-def]
    from puhui.db import transaction
    from puhui.payments import reserve

    client, world = demo
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.ops", 1_000_000_00))  # the lender's own money
    shop, person = world.merchants[0], world.customers[2]
    key = {"Authorization": f"Bearer {shop['api_key']}"}
    qr = client.post(f"/v1/merchants/{shop['id']}/qr-codes", headers=key, json={"kind": "dynamic", "amount": "321.00"})
    login = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    me = {"Authorization": f"Bearer {login.json()['token']}", "Idempotency-Key": "co-ops"}
    assert client.get("/v1/lending/lines/me", headers=me).json()["available"] == "5000.00"  # the demo world's line
    paid = client.post(
        f"/v1/lending/checkout/{qr.json()['id']}",
        headers=me,
        json={"plan": "pay_later", "verification": "two_factors", "password": person["password"]},
    )
    assert paid.status_code == 201, paid.text
    assert client.post("/v1/reserve-checks", headers={**ADMIN, "Idempotency-Key": "rc"}).status_code == 200
    checks = client.get("/v1/reserve-checks", headers=ADMIN).json()["checks"]

    log_in(client, add_staff(client, "operator", "op.books"))
    loans = client.get("/ops/loans").text
    by_class = loans[loans.index('data-testid="by-class"') :]
    assert "正常" in by_class and "¥321.00" in by_class and '<svg class="chart"' in loans
    reserve_page = client.get("/ops/reserve").text
    coverage = Decimal(checks[0]["reserve"]) / Decimal(checks[0]["obligations"]) * 100
    assert f"{coverage:.2f}%" in reserve_page and f"¥{Decimal(checks[0]['reserve']):,.2f}" in reserve_page

    bad = post_form(
        client, "/ops/funds", "/ops/funds/figures", csv="fund_code,date,income_per_10k\nNOPE,2026-01-04,x\n"
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    loaded = post_form(
        client, "/ops/funds", "/ops/funds/figures", csv="fund_code,date,income_per_10k\nPH0001,2026-01-05,0.5123\n"
    )
    assert loaded.status_code == 303
    assert "收益文件已导入。" in client.get("/ops/funds").text
