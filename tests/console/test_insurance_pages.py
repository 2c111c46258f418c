"""Insurance in the console over plain HTTP: a customer quotes and buys a medical policy with the health
declaration, the disclosure shown and the confirmations ticked (wallet down by the premium on the ledger,
the policy listed, the sales record holding the disclosure's hash); the age is never typed in: the quote
and the policy are at the customer's age by their ID (an age slipped into the form is ignored; no birth
date on file is told); a declined declaration is told and moves nothing; cancel shows the cooling-off
refund; a claim reported with a document shows its status, benefit and translated reasons; CSRF refusals
change nothing; another customer's policy and claim are 404 and /ops/claims is refused to a customer; a
risk officer approves a claim from the queue; a merchant's QR code is paid with return-shipping cover, the
premium quoted first."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from puhui.db import reading, transaction
from puhui.identity.service import customer_wallet_id
from puhui.identity.tables import customers
from puhui.insurance.claims.tables import insurance_claims
from puhui.insurance.tables import insurance_policies, insurance_sales
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers
from puhui.ledger.tables import transfers
from tests.identity.helpers import id_number
from tests.insurance.ages import born_aged

from .conftest import customer_id_of, sign_up
from .staff_world import log_in
from .test_customer_pages import balance
from .world import ADMIN, MERCHANT, hidden, merchant_qr, person, verify

PRODUCT = {
    "code": "med-e",
    "version": 1,
    "name": "尊享e生 百万医疗",
    "min_age": 0,
    "bands": [
        {"years": 18, "with_social_insurance": "200.00", "without_social_insurance": "450.00"},
        {"years": 22, "with_social_insurance": "299.00", "without_social_insurance": "688.00"},
        {"years": 26, "with_social_insurance": "899.00", "without_social_insurance": "1999.00"},
    ],
    "questionnaire": [
        {"id": "cancer", "text": "过去五年是否患有恶性肿瘤?", "on_yes": "decline"},
        {"id": "diabetes", "text": "是否患有糖尿病?", "on_yes": "exclude", "condition": "E11"},
    ],
}
RETURN_PRODUCT = {"code": "rs-1", "version": 1}


def staff_token(client, role: str, handle: str) -> str:  # type: ignore[no-untyped-def]
    made = client.post("/v1/staff", headers=ADMIN, json={"handle": handle, "role": role})
    assert made.status_code == 201, made.text
    return made.json()["token"]


def api(client, path: str, token: str, key: str, body: dict):  # type: ignore[no-untyped-def]
    answer = client.post(path, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key}, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def insurer(client) -> str:  # type: ignore[no-untyped-def]
    """An insurer with the medical product (and a return-shipping product) on offer."""
    operator = staff_token(client, "operator", "operator.ins")
    partner = client.post("/v1/partners", headers={**ADMIN, "Idempotency-Key": "p1"}, json={"name": "众安保险"})
    assert partner.status_code == 201, partner.text
    insurer_id = partner.json()["id"]
    api(client, "/v1/insurance/insurers", operator, "i1", {"partner_id": insurer_id})
    api(client, "/v1/insurance/products", operator, "m1", {**PRODUCT, "insurer_id": insurer_id})
    api(client, "/v1/insurance/return-shipping/products", operator, "r1", {**RETURN_PRODUCT, "insurer_id": insurer_id})
    return insurer_id


def fund(engine, customer_id: str, fen: int) -> None:  # type: ignore[no-untyped-def]
    wallet = customer_wallet_id(customer_id)
    move = Transfer(f"fund.{wallet}", "platform.reserve_bank.CNY", wallet, fen, "CNY", "top_up")
    assert [r.value for r in transaction(engine, lambda uow: create_transfers(uow, [move]))] == ["ok"]


def customer(client, engine, n: int, fen: int = 5_000_00, **extra: str) -> str:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    assert sign_up(client, n, **extra).status_code == 303
    cid = customer_id_of(client)
    if fen:
        fund(engine, cid, fen)
    return cid


def days_later(client, clock, n: int, days: int = 5) -> None:  # type: ignore[no-untyped-def]
    """Time passes (the session expires with it): the customer logs in again on the form."""
    clock.advance(days=days)
    client.cookies.clear()
    form = hidden(client.get("/app/login").text)
    again = client.post("/app/login", data={**form, "phone": person(n)["phone"], "password": person(n)["password"]})
    assert again.status_code == 200 and "/app/logout" in again.text


def audit_clean(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
    assert report.ok, report


def counts(engine) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (insurance_policies, insurance_claims, transfers)
        )


def quote_page(client, social: str = "yes"):  # type: ignore[no-untyped-def]
    """The quote at the signed-in customer's own age (by their ID: nothing typed)."""
    return client.get(f"/app/insurance/buy?code=med-e&version=1&social={social}")


def buy_form(page: str, **answers: str) -> dict[str, str]:
    """The buy form as a browser sends it: hidden fields, every confirmation ticked, the answers given."""
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_0-9]+)" value="([^"]*)"', page))
    ticked = {name: "yes" for name in re.findall(r'name="(confirm_\d)"', page)}
    return {**fields, **ticked, **{f"health_{q}": a for q, a in answers.items()}}


def buy(client, **answers: str):  # type: ignore[no-untyped-def]
    page = quote_page(client).text
    return client.post("/app/insurance/buy", data=buy_form(page, **answers), follow_redirects=False)


def test_a_customer_buys_a_policy_and_the_wallet_goes_down_by_the_premium(client, engine, insurer) -> None:  # type: ignore[no-untyped-def]
    cid = customer(client, engine, 11)
    home = client.get("/app/insurance")
    assert home.status_code == 200 and "尊享e生" in home.text and "暂无保单" in home.text
    assert 'name="age"' not in home.text  # the age is not typed in: it is the one in the customer's ID
    quoted = quote_page(client)
    assert quoted.status_code == 200 and 'data-testid="premium">¥299.00<' in quoted.text
    # person 11 was born 1990-12-12: 35 on the cover start 2026-01-06
    assert 'data-testid="insured-age">35<' in quoted.text and "按身份证出生日期" in quoted.text
    assert "过去五年是否患有恶性肿瘤" in quoted.text and "等待期:疾病 30 天" in quoted.text
    before = balance(engine, cid)
    typed = {**buy_form(quoted.text, cancer="no", diabetes="yes"), "age": "17"}  # an age slipped into the form
    bought = client.post("/app/insurance/buy", data=typed, follow_redirects=False)
    assert bought.status_code == 303, bought.text
    policy_page = client.get(bought.headers["location"])
    assert policy_page.status_code == 200
    assert 'data-testid="policy-premium">¥299.00<' in policy_page.text
    # cover starts the next day: the policy is not in force yet, and says so (it said 保障中)
    assert 'data-testid="exclusions">E11<' in policy_page.text and "待生效" in policy_page.text
    assert "保障中" not in policy_page.text
    assert Decimal(balance(engine, cid)) == Decimal(before) - Decimal("299.00")
    listed = client.get("/app/insurance").text
    policy_id = re.search(r'data-testid="policy-id">([^<]+)<', policy_page.text).group(1)  # type: ignore[union-attr]
    assert f"/app/insurance/policies/{policy_id}" in listed
    with reading(engine) as connection:
        sale = connection.execute(select(insurance_sales).where(insurance_sales.c.policy_id == policy_id)).one()
    shown = re.search(r'data-testid="disclosure">(.*?)</div>', quoted.text, re.S).group(1)  # type: ignore[union-attr]
    text = "\n".join(re.findall(r"<p>(.*?)</p>", shown))
    assert sale.disclosure_sha256 == hashlib.sha256(text.encode()).hexdigest()  # the exact text shown
    assert len(json.loads(sale.confirmations)) == 3 and "本人已阅读上述条款和投保须知。" in sale.confirmations
    with reading(engine) as connection:
        insured = connection.execute(
            select(insurance_policies.c.insured_age).where(insurance_policies.c.id == policy_id)
        ).scalar_one()
    assert insured == 35  # priced on the ID's age, not the one slipped in
    audit_clean(engine)


def test_a_declined_declaration_is_told_and_nothing_moves(client, engine, insurer) -> None:  # type: ignore[no-untyped-def]
    cid = customer(client, engine, 12)
    before, state = balance(engine, cid), counts(engine)
    declined = buy(client, cancer="yes", diabetes="no")
    assert declined.status_code == 422 and "无法承保(拒保)" in declined.text
    assert balance(engine, cid) == before and counts(engine) == state
    unanswered = buy(client, cancer="no")  # one question left out
    assert unanswered.status_code == 422 and "请回答每一个健康告知问题" in unanswered.text
    page = quote_page(client).text
    unticked = {k: v for k, v in buy_form(page, cancer="no", diabetes="no").items() if k != "confirm_1"}
    refused = client.post("/app/insurance/buy", data=unticked, follow_redirects=False)
    assert refused.status_code == 422 and counts(engine) == state
    changed = {**buy_form(page, cancer="no", diabetes="no"), "disclosure_sha256": "0" * 64}
    assert client.post("/app/insurance/buy", data=changed).status_code == 409 and counts(engine) == state
    customer(client, engine, 21, id_number=id_number("110105", f"{born_aged(80):%Y%m%d}", "021"))
    too_old = quote_page(client)  # an 80-year-old by their ID
    assert too_old.status_code == 422 and "不承保此年龄" in too_old.text


def test_no_birth_date_on_file_is_told_and_nothing_is_quoted(client, engine, insurer) -> None:  # type: ignore[no-untyped-def]
    cid = customer(client, engine, 22)
    with engine.begin() as connection:
        connection.execute(update(customers).where(customers.c.id == cid).values(id_number_sealed=None))
    state = counts(engine)
    page = quote_page(client)
    assert page.status_code == 409 and "系统中没有您的出生日期" in page.text
    form = {**hidden(client.get("/app/insurance").text), "code": "med-e", "version": "1", "social": "yes"}
    assert client.post("/app/insurance/buy", data=form).status_code == 409 and counts(engine) == state


def test_cancel_within_cooling_off_refunds_the_premium_shown(client, engine, insurer) -> None:  # type: ignore[no-untyped-def]
    cid = customer(client, engine, 13)
    before = balance(engine, cid)
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    page = client.get(url).text
    assert 'data-testid="refund-if-cancelled">¥299.00<' in page and "犹豫期内" in page
    done = client.post(f"{url}/cancel", data=hidden(page), follow_redirects=False)
    assert done.status_code == 303
    after = client.get(url).text
    assert "已退保" in after and 'data-testid="refund">¥299.00<' in after
    assert balance(engine, cid) == before
    audit_clean(engine)


def test_forms_without_the_csrf_token_change_nothing(client, engine, insurer) -> None:  # type: ignore[no-untyped-def]
    customer(client, engine, 14)
    state = counts(engine)
    form = {k: v for k, v in buy_form(quote_page(client).text, cancer="no", diabetes="no").items() if k != "csrf_token"}
    assert client.post("/app/insurance/buy", data=form).status_code == 403
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    state = counts(engine)
    key = hidden(client.get(url).text)["key"]
    assert client.post(f"{url}/cancel", data={"key": key, "csrf_token": "x" * 43}).status_code == 403
    policy_id = url.rsplit("/", 1)[1]
    claim = {"policy_id": policy_id, "kind": "accident", "condition": "S52", "event_date": "2026-01-07", "billed": "1"}
    assert client.post("/app/insurance/claims", data=claim).status_code == 403
    assert counts(engine) == state and "待生效" in client.get(url).text


def test_a_claim_reported_with_a_document_shows_status_benefit_and_reasons(client, engine, insurer, clock) -> None:  # type: ignore[no-untyped-def]
    customer(client, engine, 15)
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    policy_id = url.rsplit("/", 1)[1]
    days_later(client, clock, 15)
    assert "保障中" in client.get(url).text and "待生效" not in client.get("/app/insurance").text  # in force now
    page = client.get("/app/insurance/claims")
    assert page.status_code == 200 and f'<option value="{policy_id}">' in page.text
    invoice = b"%PDF-1.4 invoice 12,000 CNY" * 100
    form = {
        **hidden(page.text),
        "policy_id": policy_id,
        "kind": "illness",
        "condition": "j18",
        "event_date": "2026-01-08",
        "billed": "12000.00",
        "document_name": "invoice.pdf",
        "document_type": "application/pdf",
        "document_content": base64.b64encode(invoice).decode(),
    }
    reported = client.post("/app/insurance/claims", data=form, follow_redirects=False)
    assert reported.status_code == 303, reported.text
    claim = client.get(reported.headers["location"]).text
    assert 'data-testid="claim-status">已拒赔<' in claim and "等待期内出险" in claim  # illness in the waiting period
    assert 'data-testid="claim-benefit">¥0.00<' in claim and f"invoice.pdf ({len(invoice)} B)" in claim
    assert "等待期内出险" in client.get("/app/insurance/claims").text
    client.cookies.set("puhui_lang", "en")
    assert "in the waiting period" in client.get(reported.headers["location"]).text
    client.cookies.delete("puhui_lang")
    outside = {**form, **hidden(client.get("/app/insurance/claims").text), "event_date": "2025-12-01"}
    state = counts(engine)
    refused = client.post("/app/insurance/claims", data=outside)
    assert refused.status_code == 422 and "不在保障期间内" in refused.text and counts(engine) == state


def test_another_customer_cannot_see_a_policy_or_claim_nor_open_the_claims_queue(
    client, engine, insurer, clock
) -> None:  # type: ignore[no-untyped-def]
    customer(client, engine, 16)
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    days_later(client, clock, 16)
    page = client.get("/app/insurance/claims").text
    claim = {**hidden(page), "policy_id": url.rsplit("/", 1)[1], "kind": "accident", "condition": "S52"}
    reported = client.post("/app/insurance/claims", data={**claim, "event_date": "2026-01-08", "billed": "20000.00"})
    claim_url = reported.url.path
    assert claim_url.startswith("/app/insurance/claims/clm_"), claim_url
    customer(client, engine, 17)
    assert client.get(url).status_code == 404 and client.get(claim_url).status_code == 404
    assert client.post(f"{url}/cancel", data=hidden(client.get("/app/insurance").text)).status_code == 404
    assert url.rsplit("/", 1)[1] not in client.get("/app/insurance").text
    assert client.get("/ops/claims", follow_redirects=False).status_code == 403


def test_a_risk_officer_approves_a_claim_from_the_queue_and_it_is_paid(client, engine, insurer, clock) -> None:  # type: ignore[no-untyped-def]
    cid = customer(client, engine, 18)
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    days_later(client, clock, 18)
    page = client.get("/app/insurance/claims").text
    body = {**hidden(page), "policy_id": url.rsplit("/", 1)[1], "kind": "accident", "condition": "S52"}
    reported = client.post("/app/insurance/claims", data={**body, "event_date": "2026-01-08", "billed": "10100.00"})
    assert 'data-testid="claim-status">人工审核中<' in reported.text and "缺少理赔材料" in reported.text
    claim_id = reported.url.path.rsplit("/", 1)[1]
    wallet = balance(engine, cid)
    assert log_in(client, staff_token(client, "risk_officer", "risk.ins")).status_code == 303
    queue = client.get("/ops/claims")
    assert queue.status_code == 200 and f"赔案 {claim_id}" in queue.text and "S52" in queue.text
    action = f"/ops/claims/{claim_id}/approve"
    key = re.search(rf'action="{action}" .*?name="key" value="([^"]+)"', queue.text, re.S).group(1)  # type: ignore[union-attr]
    note = "医院电话核实发票"  # no documents: the officer says why they approve
    decided = client.post(action, data={**hidden(queue.text), "key": key, "note": note})
    assert decided.status_code == 200 and "已赔付" in decided.text and "¥100.00" in decided.text
    assert 'data-testid="claim-review"' not in decided.text and "没有待审核的赔案" in decided.text  # out of the queue
    assert Decimal(balance(engine, cid)) == Decimal(wallet) + Decimal("100.00")  # 10,100 billed - 10,000 deductible
    audit_clean(engine)


def test_a_qr_code_is_paid_with_return_shipping_cover_quoted_first(client, engine, insurer) -> None:  # type: ignore[no-untyped-def]
    merchant_id, qr_id = merchant_qr(client)
    cid = customer(client, engine, 19)
    verify(client, cid)  # a verified account (a class II wallet) may pay a merchant
    assert f"/app/insurance/checkout/{qr_id}" in client.get(f"/app/pay/{qr_id}").text
    page = client.get(f"/app/insurance/checkout/{qr_id}")
    assert page.status_code == 200, page.text
    assert f'data-testid="merchant-name">{MERCHANT["name"]}<' in page.text and merchant_id not in page.text  # whom
    premium = re.search(r'data-testid="cover-premium">¥([0-9.,]+)<', page.text).group(1)  # type: ignore[union-attr]
    before = balance(engine, cid)
    paid = client.post(
        f"/app/insurance/checkout/{qr_id}", data={**hidden(page.text), "amount": "88.00"}, follow_redirects=False
    )
    assert paid.status_code == 303 and paid.headers["location"].startswith("/app/payments/"), paid.text
    receipt = client.get(paid.headers["location"])
    assert receipt.status_code == 200 and "已投保退货运费险" in receipt.text  # the premium is said, not only taken
    assert Decimal(before) - Decimal(balance(engine, cid)) == Decimal("88.00") + Decimal(premium)
    audit_clean(engine)


def test_renewal_opens_30_days_before_the_end_and_asks_the_declaration_again(client, engine, insurer, clock) -> None:  # type: ignore[no-untyped-def]
    cid = customer(client, engine, 20)
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    page = client.get(url).text
    assert "续保自" in page and 'action="' + url + '/renew"' not in page  # not open yet
    days_later(client, clock, 20, days=340)  # 2026-12-10: within 30 days of the end (2027-01-06)
    page = client.get(url).text
    assert 'data-testid="renewal-disclosure"' in page and "保单 " + url.rsplit("/", 1)[1] + " 续保" in page
    before = balance(engine, cid)
    form = {k: v for k, v in buy_form(page, cancer="no", diabetes="no").items()}
    form["key"] = re.search(r'action="[^"]+/renew" .*?name="key" value="([^"]+)"', page, re.S).group(1)  # type: ignore[union-attr]
    renewed = client.post(f"{url}/renew", data=form, follow_redirects=False)
    assert renewed.status_code == 303 and renewed.headers["location"] != url, renewed.text
    new = client.get(renewed.headers["location"]).text
    assert url.rsplit("/", 1)[1] in new and 'data-testid="policy-premium">¥299.00<' in new  # 36 then: same band
    assert Decimal(balance(engine, cid)) == Decimal(before) - Decimal("299.00")
    assert 'data-testid="renewal-disclosure"' not in client.get(url).text  # renewed once
    audit_clean(engine)


def test_every_insurance_message_kept_outside_a_gettext_call_is_translated() -> None:
    """The confirmations and problem texts are looked up at run time (the catalogue scan sees only `_()`)."""
    from puhui.console import app_claims, app_insurance, app_return_cover, i18n

    chinese = i18n.translations("zh_CN")
    kept = [
        *app_insurance.CONFIRMATIONS,
        *app_insurance.PROBLEMS.values(),
        *app_claims.CLAIM_PROBLEMS.values(),
        *app_return_cover.COVER_PROBLEMS.values(),
    ]
    assert [m for m in kept if chinese.gettext(m) == m] == []
    for locale in i18n.LOCALES:
        catalogue = i18n.translations(locale)
        for key in ("policy:active", "claim:review", "reason:waiting_period", "claim_kind:accident"):
            assert catalogue.gettext(key) != key, (locale, key)
