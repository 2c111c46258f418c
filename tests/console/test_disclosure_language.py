"""The insurance disclosure (投保须知) and the credit products in the customer's own language: the
disclosure names the insurer by its registered name (never its partner id), shows a reimbursement ratio
as a percentage (100%, 60%), and is wholly Chinese on the Chinese page and wholly English on the English
one (only the registered names of the insurer and the product stay as registered); the built-in
products' health questions are asked in English on the English page; the text shown is the text whose
hash the sale records, in either language. The English loans page names the line products in English."""

from __future__ import annotations

import copy
import hashlib
import re

import pytest
from sqlalchemy import select

from puhui import demo
from puhui.console import i18n
from puhui.db import reading
from puhui.insurance.tables import insurance_sales

from .conftest import customer_id_of, sign_up
from .test_insurance_pages import api, customer, staff_token
from .world import ADMIN, hidden, merchant_qr, verify

INSURER_NAME = "众安保险"
CJK = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture
def demo_insurer(client) -> str:  # type: ignore[no-untyped-def]
    """An insurer named 众安保险 offering the demo's medical product (its Chinese health questions)."""
    operator = staff_token(client, "operator", "operator.words")
    made = client.post("/v1/partners", headers={**ADMIN, "Idempotency-Key": "pw1"}, json={"name": INSURER_NAME})
    assert made.status_code == 201, made.text
    insurer_id = made.json()["id"]
    api(client, "/v1/insurance/insurers", operator, "iw1", {"partner_id": insurer_id})
    api(client, "/v1/insurance/products", operator, "mw1", {**copy.deepcopy(demo.MEDICAL), "insurer_id": insurer_id})
    return insurer_id


def _page(client, social: str):  # type: ignore[no-untyped-def]
    code, version = demo.MEDICAL["code"], demo.MEDICAL["version"]
    page = client.get(f"/app/insurance/buy?code={code}&version={version}&social={social}")
    assert page.status_code == 200, page.text
    return page.text


def _shown(page: str) -> str:
    shown = re.search(r'data-testid="disclosure">(.*?)</div>', page, re.S).group(1)  # type: ignore[union-attr]
    return "\n".join(re.findall(r"<p>(.*?)</p>", shown))


def _buy(client, page: str):  # type: ignore[no-untyped-def]
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_0-9]+)" value="([^"]*)"', page))
    ticked = {name: "yes" for name in re.findall(r'name="(confirm_\d)"', page)}
    answers = {f"health_{q['id']}": "no" for q in demo.MEDICAL["questionnaire"]}
    return client.post("/app/insurance/buy", data={**fields, **ticked, **answers}, follow_redirects=False)


def _sale_hash(engine) -> str:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return connection.execute(select(insurance_sales.c.disclosure_sha256)).scalar_one()


def test_the_chinese_disclosure_names_the_insurer_in_chinese_words_and_is_what_the_sale_keeps(
    client, engine, demo_insurer
) -> None:  # type: ignore[no-untyped-def]
    customer(client, engine, 71)
    page = _page(client, "yes")
    text = _shown(page)
    assert f"由 {INSURER_NAME} 承保" in text and demo_insurer not in page  # it said: 由 ptn_… 承保
    assert "赔付比例 100%" in text  # it said: 赔付比例 1
    assert "犹豫期 15 天内退保,全额退还保费" in text
    assert not re.search(r"[A-Za-z]{3,}", text.replace("e生", "")), text  # no English sentence left in it
    bought = _buy(client, page)
    assert bought.status_code == 303, bought.text
    assert _sale_hash(engine) == hashlib.sha256(text.encode()).hexdigest()  # the hash check still passes


def test_the_english_disclosure_and_health_questions_are_wholly_english(client, engine, demo_insurer) -> None:  # type: ignore[no-untyped-def]
    customer(client, engine, 72)
    client.cookies.set(i18n.COOKIE, "en")
    page = _page(client, "no")
    text = _shown(page)
    assert f"underwritten by {INSURER_NAME}." in text and demo_insurer not in page
    assert "reimbursement ratio 60%" in text
    names = (INSURER_NAME, demo.MEDICAL["name"])
    assert not CJK.search(re.sub("|".join(map(re.escape, names)), "", text)), text
    legends = re.findall(r"<legend>(.*?)</legend>", page)
    assert len(legends) == len(demo.MEDICAL["questionnaire"]) and not any(CJK.search(q) for q in legends), legends
    bought = _buy(client, page)
    assert bought.status_code == 303, bought.text
    assert _sale_hash(engine) == hashlib.sha256(text.encode()).hexdigest()


def test_every_built_in_health_question_has_an_english_wording() -> None:
    english = i18n.translations("en")
    for question in demo.MEDICAL["questionnaire"]:
        assert not CJK.search(english.gettext(question["text"])), question


def test_the_english_loans_page_names_the_line_products_in_english(client, engine) -> None:  # type: ignore[no-untyped-def]
    from puhui.db import transaction
    from puhui.payments import reserve

    _, qr_id = merchant_qr(client)
    sign_up(client, 73)
    cid = customer_id_of(client)
    verify(client, cid)
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.words", 1_000_000_00))
    body = {"customer_id": cid, "limit": "5000.00", "annual_income": "120000.00"}
    assert client.post("/v1/lending/lines", headers=ADMIN, json=body).status_code == 201
    shown = client.get(f"/app/pay/{qr_id}/later?amount=300.00")
    done = client.post(
        f"/app/pay/{qr_id}/later",
        data={**hidden(shown.text), "plan": "instalments:3", "amount": "300.00"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    chinese = client.get("/app/loans").text
    assert "先享后付 分期" in chinese
    client.cookies.set(i18n.COOKIE, "en")
    english = client.get("/app/loans").text
    named = re.findall(r'data-testid="loan-product">([^<]+)<', english)
    assert named == ["Pay later in instalments"], named
    assert "Pay later in instalments" in client.get(done.headers["location"]).text
