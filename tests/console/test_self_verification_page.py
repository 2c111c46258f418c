"""A customer verifies themself on the Me page (自助实名认证), on both backends: a form per channel not yet passed,
each sent to the API's `/v1/customers/me/verifications` through the sandbox's provider; a passed check shows
its channel and offers the class it allows, which the customer takes (and can then top up); a mismatch is said
and recorded without counting; a card that is not theirs is refused on the page; the same form sent twice
records once. Without a provider the page shows no forms and sends the customer to the counter."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puhui.app import create_app
from puhui.db import reading
from puhui.identity.tables import verifications

from .conftest import customer_id_of, sign_up
from .staff_world import add_staff, log_in
from .test_customer_pages import balance, post_form, settle_bank
from .world import ADMIN, HIDDEN, card, hidden, person, settings

NOTICE = re.compile(r'<p class="notice" role="status">([^<]*)</p>')
ERROR = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


def form_of(html: str, testid: str) -> dict[str, str] | None:
    """The hidden fields (CSRF token, form key, channel) of the form `data-testid=testid`, None when absent."""
    start = html.find(f'data-testid="{testid}"')
    if start < 0:
        return None
    fragment = html[start : html.index("</form>", start)]
    found = dict(HIDDEN.findall(fragment))
    channel = re.search(r'name="channel" value="([a-z_]+)"', fragment)
    return {**found, "channel": channel.group(1)} if channel else found


def send(client, testid: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    shown = form_of(client.get("/app/me").text, testid)
    assert shown is not None, testid
    return client.post(action, data={**shown, **fields}, follow_redirects=False)


def checks_of(engine, customer_id: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        count = select(func.count()).where(verifications.c.customer_id == customer_id)
        return connection.execute(count).scalar_one()


def test_a_customer_verifies_themself_on_the_me_page_and_takes_their_class(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    assert sign_up(client, 41).status_code == 303
    assert post_form(client, "/app/cards", "/app/cards", card_number=card(41)).status_code == 303
    cid = customer_id_of(client)
    page = client.get("/app/me").text
    for channel in ("public_security", "bank_card", "mobile_operator", "face", "social_security", "tax"):
        assert form_of(page, f"check-{channel}") is not None, channel
    assert form_of(page, "take-class") is None and 'value="liveness-' in page
    assert re.search(r'<option value="card_[0-9a-f]+">622202\*+\d{4}</option>', page)  # the card, masked

    sent = send(
        client, "check-public_security", "/app/me/verifications", name="张三丰", id_number=person(41)["id_number"]
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/app/me#verification"
    page = client.get("/app/me").text
    assert NOTICE.findall(page) == ["核验通过，已确认您的身份。"]
    assert "公安部身份核查" in page[page.index('data-testid="channels-passed"') :].split("</p>")[0]
    assert form_of(page, "check-public_security") is None and "升级为Ⅰ类支付账户" in page

    wrong = send(client, "check-mobile_operator", "/app/me/verifications", phone="13900000000")
    assert wrong.status_code == 303
    page = client.get("/app/me").text
    assert "您填写的信息与账户登记的不一致" in NOTICE.findall(page)[0] and "已通过的身份核验：1 项" in page
    with TestClient(app) as staff:  # the operator sees why it failed, as the verification row keeps it
        assert log_in(staff, add_staff(staff, "operator", "kyc-reasons")).status_code == 303
        checks = staff.get(f"/ops/verification?id={cid}").text
        assert "未通过：与客户本人信息不符" in checks

    refused = send(client, "check-bank_card", "/app/me/verifications", card_id="card_0000000000000000")
    assert refused.status_code == 404 and ERROR.findall(refused.text) == ["请选择一张您已绑定的银行卡。"]
    assert checks_of(engine, cid) == 2

    shown = form_of(client.get("/app/me").text, "check-face")
    assert shown is not None
    for _ in range(2):  # the same form sent twice (its key kept): recorded once
        face = {**shown, "liveness_token": "liveness-0001", "biometrics_consent": "true"}  # the separate consent
        assert client.post("/app/me/verifications", data=face, follow_redirects=False).status_code == 303
    assert checks_of(engine, cid) == 3

    assert send(client, "take-class", "/app/me/tier").status_code == 303
    page = client.get("/app/me").text
    assert "账户类别已升级。" in page and "您的账户为Ⅰ类支付账户" in page and form_of(page, "take-class") is None
    tier = client.get(f"/v1/customers/{cid}", headers=ADMIN).json()["tier"]
    assert tier["class"] == "I"
    card_id = re.search(r'<option value="(card_[0-9a-f]+)"', client.get("/app/top-up").text)
    assert card_id is not None
    topped = post_form(client, "/app/top-up", "/app/top-up", card_id=card_id.group(1), amount="100.00")
    assert topped.status_code == 303  # verified: no longer `wallet_unverified`
    settle_bank(app, engine)
    assert balance(engine, cid) == "100.00"
    english = client.get("/app/me?lang=en").text
    assert "Public security ID check (name and ID number)" in english and "Move to a Class" not in english


def test_without_a_provider_the_page_sends_the_customer_to_the_counter(engine, clock) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(engine, settings(sandbox=False), run_expiry=False)) as client:
        assert sign_up(client, 42).status_code == 303
        cid = customer_id_of(client)
        page = client.get("/app/me").text
        assert form_of(page, "check-public_security") is None and "联系普惠客服" in page and cid in page
        body = {**hidden(page), "channel": "public_security", "name": "张三丰", "id_number": person(42)["id_number"]}
        refused = client.post("/app/me/verifications", data=body, follow_redirects=False)
        assert refused.status_code == 503 and ERROR.findall(refused.text) == ["身份核验暂不可用，请稍后再试。"]
        assert checks_of(engine, cid) == 0
