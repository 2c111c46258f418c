"""Staff and customers see who an id is: the pay-later page names the merchant as pay-now does; the review
queue's payer and payee, the loan book's customers, the settlements' merchants and the supervision alerts'
and cases' parties are shown with their names beside the ids (a customer's masked as on every staff page,
`*三丰`; a merchant's in full), one lookup for the page's ids; the transfer form says in the sender's words
what is missing."""

from __future__ import annotations

import re

from sqlalchemy import event

from puhui.identity.models import mask_name
from puhui.regtech.monitor import Monitor
from tests.identity.helpers import make_staff
from tests.regtech.streams import Stream

from .conftest import customer_id_of, sign_up
from .staff_world import ADMIN_TOKEN, add_staff, demo, log_in, token_of  # noqa: F401 - the fixture
from .test_ops_pages import held  # noqa: F401 - the fixture
from .world import ADMIN, MERCHANT, hidden, merchant_qr, person

EN = {"Accept-Language": "en-US"}
ZH = {"Accept-Language": "zh-CN"}


def cell_of(page: str, testid: str) -> str:
    """The HTML of the section with `data-testid`."""
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</section>", start)]


def test_the_pay_later_page_names_the_merchant_as_pay_now_does(client) -> None:  # type: ignore[no-untyped-def]
    merchant_id, qr_id = merchant_qr(client)
    sign_up(client, 51)
    now = client.get(f"/app/pay/{qr_id}", headers=EN).text
    later = client.get(f"/app/pay/{qr_id}/later?amount=100.00", headers=EN).text
    for page in (now, later):
        assert f'<dd data-testid="merchant-name">{MERCHANT["name"]}</dd>' in page
    assert merchant_id not in cell_of(later, "merchant-name").split("</dd>")[0]
    assert f'Merchant</dt><dd class="mono">{merchant_id}' not in later


def test_the_review_queue_names_payer_and_payee_with_their_ids(demo, held) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    review, payer = held
    shop = world.merchants[0]
    log_in(client, token_of(world, "risk_officer"))
    queue = client.get("/ops/reviews", headers=EN).text
    masked = mask_name(payer["name"])
    assert f'{masked}<br><span class="mono">{payer["id"]}</span>' in queue
    assert f'{shop["name"]}<br><span class="mono">{shop["id"]}</span>' in queue
    assert payer["name"] not in queue  # masked, as the customer page shows it


def test_the_loan_book_and_settlements_name_customers_and_merchants(demo, engine, clock) -> None:  # type: ignore[no-untyped-def]
    from puhui import clock as clock_module
    from puhui.db import transaction
    from puhui.payments import reserve

    client, world = demo
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.named", 1_000_000_00))
    shop, borrower = world.merchants[1], world.customers[2]
    key = {"Authorization": f"Bearer {shop['api_key']}"}
    qr = client.post(f"/v1/merchants/{shop['id']}/qr-codes", headers=key, json={"kind": "dynamic", "amount": "88.00"})
    login = client.post("/v1/customers/login", json={"phone": borrower["phone"], "password": borrower["password"]})
    me = {"Authorization": f"Bearer {login.json()['token']}", "Idempotency-Key": "co-named"}
    paid = client.post(
        f"/v1/lending/checkout/{qr.json()['id']}",
        headers=me,
        json={"plan": "pay_later", "verification": "two_factors", "password": borrower["password"]},
    )
    assert paid.status_code == 201, paid.text
    day = clock_module.business_date()
    clock.advance(hours=24)
    settled = client.post(
        "/v1/settlements", headers={**ADMIN, "Idempotency-Key": "named-s"}, json={"business_date": day.isoformat()}
    )
    assert settled.status_code == 200, settled.text

    log_in(client, add_staff(client, "operator", "op.named"))
    loans = cell_of(client.get("/ops/loans", headers=EN).text, "loans")
    assert f'{mask_name(borrower["name"])}<br><span class="mono">{borrower["id"]}</span>' in loans
    assert borrower["name"] not in loans
    settlements = cell_of(client.get(f"/ops/settlements?date={day.isoformat()}", headers=EN).text, "settlements")
    assert f'{shop["name"]}<br><span class="mono">{shop["id"]}</span>' in settlements
    assert '<th scope="col">Merchant</th>' in settlements


def test_the_loan_book_looks_its_names_up_once_for_the_page(demo, engine) -> None:  # type: ignore[no-untyped-def]
    """No query per row: the page's customers are read in one statement however many loans it lists."""
    client, world = demo
    log_in(client, ADMIN_TOKEN)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "FROM customers" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        listed = client.get("/ops/loans", headers=EN)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert listed.status_code == 200
    rows = cell_of(listed.text, "loans").count("<tr>") - 1
    assert len([s for s in statements if "name_sealed" in s]) <= 1, (rows, statements)


def test_alerts_and_cases_name_their_party(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 52)
    cid = customer_id_of(client)
    stream = Stream(engine, clock)
    stream.at_china(0, 9, 30)
    stream.p2p(cid, "cus_named_other", "500000.00")  # a large-value transfer: an alert on the payer
    Monitor(engine).run()
    officer = make_staff(client, "risk_officer", "officer.named")
    alerts = client.get("/v1/regtech/alerts", params={"party": cid}, headers=officer).json()["alerts"]
    assert alerts, "the stream raised no alert on the customer"
    case = client.post(
        "/v1/regtech/cases", json={"alert_ids": [alerts[0]["id"]]}, headers={**officer, "Idempotency-Key": "named"}
    )
    assert case.status_code == 201, case.text
    log_in(client, add_staff(client, "regulator", "regulator.named"))
    shown = f'{mask_name(person(52)["name"])}<br><span class="mono">{cid}</span>'
    for path, section in (("/supervision/alerts", "alerts"), ("/supervision/cases", "cases")):
        page = cell_of(client.get(path, headers=EN).text, section)
        assert shown in page, path
        assert person(52)["name"] not in page


def test_a_transfer_without_a_recipient_says_so_in_the_senders_words(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 53)
    for headers, said in (
        (EN, "Enter the mobile number or the customer number of the person you are sending money to."),
        (ZH, "请输入收款人的手机号或客户号。"),
    ):
        form = hidden(client.get("/app/transfer", headers=headers).text)
        page = client.post("/app/transfer", data={**form, "to_customer_id": "", "amount": "10.00"}, headers=headers)
        assert page.status_code == 422 and said in page.text, page.text[-800:]
        assert "String should have" not in page.text and "to_customer_id" not in re.sub(r"<[^>]+>", "", page.text)
    form = hidden(client.get("/app/transfer", headers=EN).text)
    page = client.post("/app/transfer", data={**form, "to_customer_id": "cus_x", "amount": ""}, headers=EN)
    assert page.status_code == 422 and "Enter the amount in CNY, such as 66.00." in page.text
