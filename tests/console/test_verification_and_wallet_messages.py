"""A new customer's way out of `wallet_unverified`, and the wallet's refusals said plainly, on both backends.

Registered at /app/register with a card bound, a customer's top-up was refused ("请先完成实名认证再充值或提现")
and neither /app/me nor the back office led anywhere: identity checks and the wallet class were the staff
API's alone (`customer.verify`, `customer.upgrade_tier`). The Me page now says what verifying is and brings
(the classes and their limits) and whom to ask; the top-up refusal points there; and the operator records
the checks and raises the class at /ops/verification, found by mobile number, through the API (idempotent
by the form's key). A transfer over a Class I account's ¥1,000 limit names the class, the limit and what is
left of it; a withdrawal of 0 or less is told what amount to enter, as one of "abc" was.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from puhui.console import app_wallet, i18n

from .conftest import customer_id_of, sign_up
from .staff_world import add_staff, log_in
from .test_customer_pages import _bearer, balance, post_form, settle_bank
from .world import ADMIN, card, hidden, person, verify

ERROR = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


def _error(html: str) -> str:
    found = ERROR.findall(html)
    assert found, html[:2000]
    return found[0]


def _card_id(client) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r'<option value="(card_[0-9a-f]+)"', client.get("/app/top-up").text)
    assert found is not None
    return found.group(1)


def _registered_with_card(client, n: int) -> str:  # type: ignore[no-untyped-def]
    assert sign_up(client, n).status_code == 303
    assert post_form(client, "/app/cards", "/app/cards", card_number=card(n)).status_code == 303
    return customer_id_of(client)


def _class_of(client, customer_id: str) -> str | None:  # type: ignore[no-untyped-def]
    tier = client.get(f"/v1/customers/{customer_id}", headers=ADMIN).json()["tier"]
    return tier["class"] if tier else None


def test_a_new_customer_is_shown_the_way_and_an_operator_verifies_them_in_the_back_office(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    cid = _registered_with_card(client, 31)
    refused = post_form(client, "/app/top-up", "/app/top-up", card_id=_card_id(client), amount="100.00")
    said = _error(refused.text)
    assert refused.status_code == 403
    assert "请先完成实名认证" in said and "实名认证" in said.split("。", 1)[1]  # and where to do it
    me = client.get("/app/me").text
    section = me[me.index('data-testid="verification"') :]
    assert "尚未完成实名认证" in section and "已通过的身份核验：0 项" in section
    assert "开户以来累计 ¥1,000.00" in section and "每年 ¥100,000.00" in section and "每年 ¥200,000.00" in section
    assert cid in section  # the customer number to give

    with TestClient(app) as staff:
        assert log_in(staff, add_staff(staff, "operator", "kyc-desk")).status_code == 303
        assert "/ops/verification" in staff.get("/ops").text  # on the operator's menu
        found = staff.get("/ops/verification", params={"id": person(31)["phone"]})
        assert found.status_code == 200 and cid in found.text and "尚无身份核验" in found.text
        page = f"/ops/verification?id={cid}"
        form = {"channel": "public_security", "reference": "GA-2026-0001", "passed": "true"}
        sent = post_form(staff, page, f"/ops/verification/{cid}/checks", **form)
        assert sent.status_code == 303 and sent.headers["location"] == page
        twice = {**hidden(staff.get(page).text), **form, "reference": "GA-2026-0002"}
        for _ in range(2):  # the same form sent twice (its key kept): recorded once
            assert staff.post(f"/ops/verification/{cid}/checks", data=twice, follow_redirects=False).status_code == 303
        shown = staff.get(page).text
        assert "身份核验已登记" in shown and "GA-2026-0001" in shown and "公安部身份核查" in shown
        assert len(client.get(f"/v1/customers/{cid}", headers=ADMIN).json()["verifications"]) == 2
        assert _class_of(client, cid) is None  # a check alone raises no class
        failed = {"channel": "social_security", "reference": "SB-2026-0001", "passed": "not_confirmed"}  # why
        assert post_form(staff, page, f"/ops/verification/{cid}/checks", **failed).status_code == 303
        assert "未通过：核验渠道未确认身份" in staff.get(page).text
        listed = client.get(f"/v1/customers/{cid}", headers=ADMIN).json()["verifications"]
        assert (listed[-1]["passed"], listed[-1]["reason"]) == (False, "not_confirmed")

        raised = post_form(staff, page, f"/ops/verification/{cid}/tier", reason="ID checked at the counter")
        assert raised.status_code == 303 and "账户类别已升级" in staff.get(page).text
        assert _class_of(client, cid) == "I"  # the failed check counts for nothing

        too_high = post_form(staff, page, f"/ops/verification/{cid}/tier", reason="again")
        assert too_high.status_code == 409 and _error(too_high.text) and _class_of(client, cid) == "I"

    made = post_form(client, "/app/top-up", "/app/top-up", card_id=_card_id(client), amount="100.00")
    assert made.status_code == 303
    settle_bank(app, engine)
    assert balance(engine, cid) == "100.00"
    assert "您的账户为Ⅰ类支付账户" in client.get("/app/me").text


def test_only_operators_and_admins_open_the_verification_page(app, client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/ops/verification", follow_redirects=False).headers["location"] == "/staff/login"
    cid = _registered_with_card(client, 32)
    assert client.get("/ops/verification").status_code == 403  # a signed-in customer
    with TestClient(app) as staff:
        assert log_in(staff, add_staff(staff, "risk_officer", "risk-desk")).status_code == 303
        assert staff.get(f"/ops/verification?id={cid}").status_code == 403
        refused = staff.post(f"/ops/verification/{cid}/tier", data={"reason": "x"})
        assert refused.status_code == 403 and _class_of(client, cid) is None


def test_a_transfer_over_the_class_i_limit_names_it_and_what_is_left(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    assert sign_up(client, 33).status_code == 303
    friend = customer_id_of(client)
    client.cookies.clear()
    cid = _registered_with_card(client, 34)
    verify(client, cid, channels=1)  # Class I: ¥1,000 in all since opening
    assert post_form(client, "/app/top-up", "/app/top-up", card_id=_card_id(client), amount="900.00").status_code == 303
    settle_bank(app, engine)
    sent = post_form(client, "/app/transfer", "/app/transfer", to_customer_id=friend, amount="300.00")
    assert sent.status_code == 303

    over = post_form(client, "/app/transfer", "/app/transfer", to_customer_id=friend, amount="1200.00")
    said = _error(over.text)
    assert over.status_code == 409 and "Ⅰ类支付账户" in said and "¥1,000.00" in said and "还剩 ¥700.00" in said
    assert balance(engine, cid) == "600.00"  # nothing moved

    english = post_form(client, "/app/transfer", "/app/transfer?lang=en", to_customer_id=friend, amount="800.00")
    assert english.status_code == 409
    said = _error(english.text)
    assert "Class I account" in said and "1,000.00 in all since it was opened" in said and "700.00 is left" in said


def test_a_withdrawal_of_zero_or_less_says_what_amount_to_enter(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    cid = _registered_with_card(client, 35)
    verify(client, cid, channels=1)
    wanted = i18n.translations("zh_CN").gettext(app_wallet.AMOUNT_WANTED)
    assert wanted != app_wallet.AMOUNT_WANTED
    for amount in ("-5", "0", "0.00", "abc"):
        refused = post_form(client, "/app/withdraw", "/app/withdraw", card_id=_card_id(client), amount=amount)
        assert refused.status_code == 422 and _error(refused.text) == wanted, amount
    assert client.get("/v1/wallets/me/withdrawals", headers=_bearer(client)).json()["withdrawals"] == []
    assert balance(engine, cid) == "0.00"
