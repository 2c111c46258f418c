"""What a new customer reads in the app is in their language and names things as they are: a failed top-up
says why (not the bank's code), a page for something that is not there says so (not the API's English
detail), the loans carry their product's name, a loan's schedule has its own "repaid" column, the bills'
filter names each kind once, and a merchant's name is not labelled as a person's."""

from __future__ import annotations

import re

import pytest

from puhui.console import app_wallet, bills, i18n
from puhui.payments.bank.channel import FailureReason
from puhui.payments.bank.sandbox.plan import CARD_EMPTY

from .conftest import customer_id_of, sign_up
from .staff_world import log_in
from .test_credit_pages import _customer_with_money, _open_line
from .test_customer_pages import post_form, settle_bank
from .world import ADMIN, MERCHANT, hidden, merchant_qr, verify

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}


def test_a_failed_top_up_says_why_in_the_visitors_language_not_the_banks_code(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 71)
    verify(client, customer_id_of(client))
    assert post_form(client, "/app/cards", "/app/cards", card_number=CARD_EMPTY).status_code == 303
    card_id = re.search(r'<option value="(card_[0-9a-f]+)"', client.get("/app/top-up").text).group(1)
    made = post_form(client, "/app/top-up", "/app/top-up", card_id=card_id, amount="50.00")
    assert made.status_code == 303
    settle_bank(app, engine)
    chinese = client.get(made.headers["location"], headers=ZH).text
    english = client.get(made.headers["location"], headers=EN).text
    assert 'data-testid="order-status">失败' in chinese
    assert 'data-testid="order-failure">银行卡余额不足。<' in chinese
    assert 'data-testid="order-failure">The bank card does not have enough money.<' in english
    assert "insufficient_funds" not in chinese and "insufficient_funds" not in english


def test_every_bank_failure_code_has_a_message_in_both_languages() -> None:
    codes = {reason.value for reason in FailureReason} | {"order_refused", "missing_at_bank"}
    assert codes <= set(app_wallet.BANK_FAILURES)
    for locale in i18n.LOCALES:
        catalogue = i18n.translations(locale)
        for message in [*app_wallet.BANK_FAILURES.values(), app_wallet.BANK_FAILED]:
            assert locale == "en" or catalogue.gettext(message) != message, (locale, message)
    unknown = app_wallet.bank_failure({"status": "failed", "failure_reason": "something_new"})
    assert unknown == app_wallet.BANK_FAILED
    assert app_wallet.bank_failure({"status": "succeeded", "failure_reason": None}) is None


@pytest.mark.parametrize(
    ("url", "ident"),
    [("/app/loans/ln_0000000000000000", "ln_0000000000000000"), ("/app/top-up/bo_00000000", "bo_00000000")],
)
def test_a_page_for_something_not_there_says_so_in_the_visitors_language(client, url: str, ident: str) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 72)
    chinese = client.get(url, headers=ZH)
    assert chinese.status_code == 404 and "页面不存在" in chinese.text
    assert f"未找到 {ident}。" in chinese.text and "not found" not in chinese.text
    english = client.get(url, headers=EN)
    assert english.status_code == 404 and f"{ident} was not found." in english.text


def test_loans_carry_their_products_name_and_the_schedule_its_own_repaid_column(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    _, qr_id = merchant_qr(client)
    cid = _customer_with_money(app, client, engine, 73, "500.00")
    _open_line(client, engine, cid, "5000.00")
    form = hidden(client.get(f"/app/pay/{qr_id}").text)
    done = client.post(
        f"/app/pay/{qr_id}/later", data={**form, "plan": "instalments:3", "amount": "300.00"}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    loan_id = done.headers["location"].rsplit("/", 1)[1]

    listed = client.get("/app/loans", headers=ZH).text
    assert re.search(r'data-testid="loan-product">先享后付 分期<', listed) and "line-instalments" not in listed
    page = client.get(f"/app/loans/{loan_id}", headers=ZH).text
    heading = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)
    assert "先享后付 分期" in heading and f'<small class="mono">{loan_id}</small>' in heading
    schedule = page[page.index('data-testid="schedule"') :]
    assert "<th>已还</th>" in schedule and "付款成功" not in schedule
    english = client.get(f"/app/loans/{loan_id}", headers=EN).text
    assert "<th>Repaid</th>" in english[english.index('data-testid="schedule"') :]
    receipt_word = i18n.translations("zh_CN").gettext("Paid")
    assert receipt_word == "付款成功"  # the receipt's own word is unchanged


def test_the_bills_filter_names_each_kind_once_in_both_languages(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 74)
    for headers in (ZH, EN):
        page = client.get("/app/bills", headers=headers).text
        chooser = page[page.index('<select id="kind"') : page.index("</select>", page.index('<select id="kind"'))]
        names = re.findall(r"<option [^>]*>([^<]+)</option>", chooser)
        assert len(names) == len(bills.KINDS) + 1 and len(set(names)) == len(names), (headers, names)
    chinese = client.get("/app/bills", headers=ZH).text
    assert "货币基金申购" in chinese and "基金申购" in chinese


def test_the_merchant_card_labels_the_merchants_name_not_a_persons(client) -> None:  # type: ignore[no-untyped-def]
    made = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    assert made.status_code == 201, made.text
    log_in(client, made.json()["api_key"])
    for headers, label, person in ((ZH, "商户名称", "姓名"), (EN, "Merchant name", ">Name<")):
        page = client.get("/merchant", headers=headers).text
        facts = page[page.index('data-testid="merchant-facts"') :]
        assert label in facts and person not in facts and MERCHANT["name"] in facts, headers
