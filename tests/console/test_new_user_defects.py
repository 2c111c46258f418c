"""What a new user found on the demo, each over HTTP on the rendered page: the Chinese app never shows the
API's English words for a refusal (every problem code the app's forms can meet has a message of its own),
share and fund-unit balances are not shown as money, a case lists each transaction once, a transfer takes
the payee's mobile number, staff headers name the staff member, the merchant list shows the effective fee
rate, and viewing the robo-advice page writes no refused-mutation audit row."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from puhui.console import app_wallet, i18n, render
from puhui.console import client as api_client
from puhui.db import reading
from puhui.db.tables import audit_log
from puhui.identity.service import customer_wallet_id
from puhui.regtech.monitor import Monitor
from tests.identity.helpers import make_staff
from tests.regtech.streams import Stream, tripping

from .conftest import customer_id_of, sign_up
from .staff_world import ADMIN_TOKEN, add_staff, demo, log_in  # noqa: F401 - the fixture
from .test_customer_pages import balance, post_form, settle_bank
from .world import ADMIN, MERCHANT, card, person, verify

ERROR = re.compile(r'<p class="error" role="alert">([^<]*)</p>')
CJK = re.compile(r"[\u4e00-\u9fff]")

# The problem codes each form of the app can meet, from the error classes its API calls raise (`code = "…"`
# under src/puhui: puhui.errors, money, api.mutations/rate_limit, identity.errors, payments.errors,
# ledger.errors, wealth.errors) and the API's own validation (`invalid_request`); every form also meets
# the generic ones.
GENERIC = (
    "invalid_amount",
    "invalid_input",
    "invalid_request",
    "not_found",
    "conflict",
    "forbidden",
    "idempotency_key_reused",
    "rate_limited",
    "customer_closed",
)
FORMS: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "/app/transfer": (
        "/app/transfer",
        {"to_customer_id": "cus_someone", "amount": "1.00"},
        (
            "insufficient_funds",
            "limit_exceeded",
            "payment_declined",
            "customer_not_found",
            "wallet_class_too_low",
            "verification_not_proven",
            "challenge_open",
            "payment_under_review",
        ),
    ),
    "/app/top-up": (
        "/app/top-up",
        {"card_id": "card_x", "amount": "1.00"},
        (
            "wallet_unverified",
            "limit_exceeded",
            "amount_above_order_maximum",
            "bank_channel_unavailable",
            "bank_channel_error",
            "invalid_bank_order",
        ),
    ),
    "/app/withdraw": (
        "/app/withdraw",
        {"card_id": "card_x", "amount": "1.00"},
        ("wallet_unverified", "insufficient_funds", "limit_exceeded", "bank_channel_unavailable"),
    ),
    "/app/cards": ("/app/cards", {"card_number": "6222"}, ("invalid_card_number", "card_already_bound")),
    "/app/fund/PH0001/subscribe": (
        "/app/fund/PH0001",
        {"amount": "1.00"},
        ("wallet_class_too_low", "insufficient_funds", "fund_closed", "fund_not_found", "invalid_fund_order"),
    ),
    "/app/fund/PH0001/redeem": (
        "/app/fund/PH0001",
        {"units": "1.00", "speed": "fast"},
        ("insufficient_units", "fast_redemption_cap_exceeded", "invalid_fund_order"),
    ),
    "/app/me/close": (
        "/app/me",
        {"confirm": "on"},
        ("wallet_not_empty", "account_has_holdings", "current_password_invalid"),
    ),
}
STATUS = {"not_found": 404, "fund_not_found": 404, "customer_not_found": 404, "conflict": 409, "forbidden": 403}


def _refusing(monkeypatch, code: str, detail: str) -> None:  # type: ignore[no-untyped-def]
    """Every POST the console makes to the API is refused with `code` and the English `detail`."""
    real = api_client.call

    async def call(request, method, path, **kwargs):  # type: ignore[no-untyped-def]
        if method == "POST" and path.startswith("/v1/"):
            raise api_client.ApiProblem(STATUS.get(code, 422), code, detail)
        return await real(request, method, path, **kwargs)

    monkeypatch.setattr(api_client, "call", call)


def test_no_form_of_the_chinese_app_shows_the_apis_english_words(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 31)
    zh = i18n.Formatter("zh_CN")
    general = {zh.gettext(render.FALLBACK), *(zh.gettext(t) for t in render.ERROR_TITLES.values())}
    for action, (page, fields, codes) in FORMS.items():
        for code in (*GENERIC, *codes):
            detail = f"English detail of {code}: 1.001 has more than 2 decimal places"
            with monkeypatch.context() as patched:
                _refusing(patched, code, detail)
                answer = post_form(client, page, action, **fields)
            said = ERROR.findall(answer.text)
            assert answer.status_code >= 400 and said, (action, code, answer.status_code)
            assert detail not in answer.text and "English detail" not in answer.text, (action, code)
            assert CJK.search(said[0]) and said[0] not in general, (action, code, said[0])  # its own message


def test_an_unknown_code_is_told_by_its_status_in_chinese_and_by_the_api_in_english(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 32)
    _refusing(monkeypatch, "some_code_added_later", "Some English detail")
    zh = post_form(client, "/app/transfer", "/app/transfer", to_customer_id="cus_someone", amount="1.00")
    assert "Some English detail" not in zh.text
    assert ERROR.findall(zh.text) == [i18n.Formatter("zh_CN").gettext(render.ERROR_TITLES[422])]
    client.cookies.set(i18n.COOKIE, "en")
    en = post_form(client, "/app/transfer", "/app/transfer", to_customer_id="cus_someone", amount="1.00")
    assert ERROR.findall(en.text) == ["Some English detail"]


def test_the_transfers_the_new_user_tried_are_refused_in_chinese(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 33)
    for amount, said in (("1.001", "最多两位小数"), ("-1", "大于零")):
        refused = post_form(client, "/app/transfer", "/app/transfer", to_customer_id="cus_nope", amount=amount)
        assert refused.status_code == 422 and said in ERROR.findall(refused.text)[0], (amount, refused.text[-800:])
        assert "decimal places" not in refused.text and "greater than zero" not in refused.text
    nobody = post_form(client, "/app/transfer", "/app/transfer", to_customer_id="cus_nope", amount="1.00")
    assert nobody.status_code == 404 and "has no wallet" not in nobody.text
    assert ERROR.findall(nobody.text) == ["没有普惠用户使用这个客户号。请向对方核对：客户号显示在对方的“我的”页面。"]


def test_a_transfer_takes_the_payees_mobile_number(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 34)
    payee = customer_id_of(client)
    client.cookies.clear()
    sign_up(client, 35)
    me = customer_id_of(client)
    form = client.get("/app/transfer").text
    assert f'data-testid="my-customer-id">{me}<' in form and "对方手机号或客户号" in form and "“我的”页面" in form
    verify(client, me)
    assert post_form(client, "/app/cards", "/app/cards", card_number=card(35)).status_code == 303
    card_id = re.search(r'<option value="(card_[0-9a-f]+)"', client.get("/app/top-up").text).group(1)
    assert post_form(client, "/app/top-up", "/app/top-up", card_id=card_id, amount="100.00").status_code == 303
    settle_bank(app, engine)
    phone = person(34)["phone"]
    spaced = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    moved = post_form(client, "/app/transfer", "/app/transfer", to_customer_id=spaced, amount="12.50")
    assert moved.status_code == 303, ERROR.findall(moved.text)
    assert balance(engine, payee) == "12.50" and balance(engine, me) == "87.50"
    unknown = post_form(client, "/app/transfer", "/app/transfer", to_customer_id="13700000000", amount="1.00")
    assert unknown.status_code == 404 and ERROR.findall(unknown.text) == ["没有普惠用户使用这个手机号。"]
    mine = post_form(client, "/app/transfer", "/app/transfer", to_customer_id=person(35)["phone"], amount="1.00")
    assert mine.status_code == 422 and ERROR.findall(mine.text) == ["不能给自己转账。"]
    assert balance(engine, me) == "87.50"


def test_share_and_fund_unit_balances_are_not_shown_as_money(demo, engine) -> None:  # type: ignore[no-untyped-def]
    client, _world = demo
    log_in(client, ADMIN_TOKEN)
    api = client.get("/v1/ledger/accounts", params={"code": "securities_shares_held", "limit": 50}, headers=ADMIN)
    held = [a for a in api.json()["accounts"] if Decimal(a["credits_posted"]) != Decimal(a["debits_posted"])]
    assert held, "the demo world holds shares"
    page = client.get("/ops/ledger", params={"code": "securities_shares_held"}).text
    accounts = page.split('id="accounts"', 1)[1]
    for a in held:
        shares = abs(Decimal(a["credits_posted"]) - Decimal(a["debits_posted"]))
        row = accounts.split(a["id"], 2)[2].split("</tr>", 1)[0]
        assert f"{shares:,.0f} 股" in row and "¥" not in row, row
    account = client.get(f"/ops/ledger/{held[0]['id']}").text
    assert "SEC:" in account and " 股" in account and "¥" not in account.split('id="account"', 1)[1]
    units = client.get("/ops/ledger/mmf.PH0001.issued").text.split('id="account"', 1)[1]
    assert "FUND:PH0001" in units and re.search(r"[\d,]+\.\d\d 份", units) and "¥" not in units
    wallet = client.get(f"/ops/ledger/{customer_wallet_id(_world.customers[0]['id'])}").text
    assert "¥" in wallet and " 份" not in wallet and " 股" not in wallet  # money stays money
    assert i18n.Formatter("en").gettext("%(count)s shares", count="100") == "100 shares"


@pytest.fixture
def case_over_all_alerts(client, engine, clock):  # type: ignore[no-untyped-def]
    """A case over both of cus_pool's alerts (fund_pool and fan_in, citing the same inflows), the regulator
    signed in."""
    tripping(Stream(engine, clock))
    Monitor(engine).run()
    officer = make_staff(client, "risk_officer", "officer.dup")
    alerts = client.get("/v1/regtech/alerts", params={"party": "cus_pool"}, headers=officer).json()["alerts"]
    made = client.post(
        "/v1/regtech/cases",
        json={"alert_ids": [a["id"] for a in alerts]},
        headers={**officer, "Idempotency-Key": "case-dup"},
    )
    assert made.status_code == 201, made.text
    regulator = add_staff(client, "regulator", "regulator.dup")
    assert log_in(client, regulator).status_code == 303
    return client.get(f"/v1/regtech/cases/{made.json()['id']}", headers=officer).json()


def test_a_case_lists_each_transaction_once_with_the_alerts_it_is_evidence_for(client, case_over_all_alerts) -> None:  # type: ignore[no-untyped-def]
    case = case_over_all_alerts
    cited: dict[str, set[str]] = {}
    for alert in case["alerts"]:
        for flow in alert["evidence"]["flows"]:
            cited.setdefault(flow["ref"], set()).add(alert["id"])
    assert any(len(ids) > 1 for ids in cited.values()), "the alerts share evidence"
    page = client.get(f"/supervision/cases/{case['id']}").text
    evidence = page.split('id="evidence"', 1)[1].split("</table>", 1)[0]
    assert "所属预警" in evidence
    for ref, ids in cited.items():
        assert evidence.count(f"<td>{ref}</td>") == 1, ref
        row = evidence.split(f"<td>{ref}</td>", 1)[1].split("</tr>", 1)[0]
        assert all(f'href="/supervision/alerts/{i}"' in row for i in ids), ref


def test_staff_headers_name_the_staff_member_and_merchants_show_the_fee_they_pay(client) -> None:  # type: ignore[no-untyped-def]
    regulator = add_staff(client, "regulator", "regulator.head")
    assert log_in(client, regulator).status_code == 303
    page = client.get("/supervision/cases").text
    named = re.search(r'data-testid="staff-name" data-staff-id="(stf_[^"]+)"[^>]*>([^<]+)<', page)
    assert named is not None and named.group(2) == "regulator.head"
    made = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    assert made.status_code == 201, made.text
    rate = client.get(f"/v1/merchants/{made.json()['id']}", headers=ADMIN).json()["effective_fee_rate_bp"]
    log_in(client, ADMIN_TOKEN)
    listed = client.get("/ops/merchants").text.split('id="merchants"', 1)[1]
    row = listed.split(made.json()["id"], 1)[1].split("</tr>", 1)[0]
    assert f"{Decimal(rate) / 100:.2f}%（平台默认）" in row and "—" not in row


def test_viewing_robo_advice_without_a_questionnaire_writes_no_audit_row(client, engine) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 36)
    me = customer_id_of(client)
    verify(client, me)  # Class III: only the questionnaire is missing
    page = client.get("/app/advice")
    assert page.status_code == 200 and "请先完成风险测评" in page.text
    with reading(engine) as connection:
        rows = connection.execute(
            select(audit_log.c.action, audit_log.c.status_code).where(audit_log.c.principal == me)
        )
        assert not [r for r in rows if "advice" in r.action], "a page view made a refused mutation"


def test_the_transfer_forms_messages_are_translated() -> None:
    zh = i18n.translations("zh_CN")
    said = [*app_wallet.TRANSFER_FIELDS.values(), *app_wallet.TRANSFER_PROBLEMS.values()]
    said += [app_wallet.NO_SUCH_PHONE, app_wallet.TO_YOURSELF, render.FALLBACK, *render.PROBLEMS.values()]
    assert [m for m in said if zh.gettext(m) == m] == []
