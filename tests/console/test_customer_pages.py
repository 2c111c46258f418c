"""The customer wallet app (/app) over plain HTTP: sign-up with consents, log-in and out, session
cookies, CSRF refusals that change nothing, top-up through the sandbox bank, paying a QR code, P2P,
bills with filters, the money-market fund, the personal data page, and the 404 page."""

from __future__ import annotations

import re

from puhui import clock as clock_module
from puhui.db import reading
from puhui.identity.service import customer_wallet_id
from puhui.ledger.service import get_account
from puhui.money import format_minor
from puhui.payments.bank import worker

from .conftest import customer_id_of, sign_up
from .world import ADMIN, card, hidden, merchant_qr, person, verify


def balance(engine, customer_id: str) -> str:  # type: ignore[no-untyped-def]
    """The wallet's posted balance on the ledger (what the page must show)."""
    with reading(engine) as connection:
        account = get_account(connection, customer_wallet_id(customer_id))
    return format_minor(account.credits_posted - account.debits_posted, 2)


def post_form(client, page: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    """Submit a form as a browser would: the page's CSRF token and form key, then the fields."""
    return client.post(action, data={**hidden(client.get(page).text), **fields}, follow_redirects=False)


def settle_bank(app, engine) -> None:  # type: ignore[no-untyped-def]
    worker.deliver(engine, app.state.bank, clock_module.now())


def test_a_visitor_signs_up_with_consents_and_gets_a_safe_session_cookie(client, engine) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/app", follow_redirects=False).headers["location"] == "/app/login"
    made = sign_up(client, 1)
    assert made.status_code == 303 and made.headers["location"] == "/app"
    cookie = next(c for c in made.headers.get_list("set-cookie") if c.startswith("puhui_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # http here: not Secure
    home = client.get("/app")
    assert home.status_code == 200 and "¥0.00" in home.text and "余额" in home.text  # zh-CN by default
    cid = customer_id_of(client)
    token = client.post("/v1/customers/login", json={"phone": person(1)["phone"], "password": person(1)["password"]})
    shown = client.get(f"/v1/customers/{cid}", headers={"Authorization": f"Bearer {token.json()['token']}"}).json()
    granted = {c["purpose"]: c["granted"] for c in shown["consents"]}
    assert granted == {"payments": True, "risk_control": True, "credit_scoring": False, "marketing": False}
    me = client.get("/app/me").text
    assert person(1)["id_number"] not in me and person(1)["phone"] not in me  # masked, as the API shows it
    assert shown["phone"] in me


def test_sign_up_without_the_required_consent_or_with_a_bad_id_changes_nothing(client, engine) -> None:  # type: ignore[no-untyped-def]
    form = hidden(client.get("/app/register").text)
    refused = client.post("/app/register", data={**person(2), **form}, follow_redirects=False)
    assert refused.status_code == 422 and "puhui_session" not in refused.headers.get("set-cookie", "")
    bad = client.post(
        "/app/register", data={**person(2), "id_number": "110105199001010000", **form, "consent_payments": "on"}
    )
    assert bad.status_code == 422 and "身份证号无效" in bad.text  # the API's code, told in the visitor's language
    login = client.post("/v1/customers/login", json={"phone": person(2)["phone"], "password": person(2)["password"]})
    assert login.status_code == 401  # nobody was registered


def test_log_out_ends_the_platform_session_not_just_the_cookie(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 3)
    token = client.cookies.get("puhui_session")
    assert client.get("/v1/wallets/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    out = post_form(client, "/app", "/app/logout")
    assert out.status_code == 303 and out.headers["location"] == "/app/login"
    assert client.get("/v1/wallets/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/app", follow_redirects=False).status_code == 303
    client.cookies.set("puhui_session", token)  # the old cookie, replayed
    assert client.get("/app", follow_redirects=False).headers["location"] == "/app/login"


def test_a_wrong_password_is_told_on_the_log_in_page(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 4)
    client.cookies.clear()
    wrong = post_form(client, "/app/login", "/app/login", phone=person(4)["phone"], password="not it")
    assert wrong.status_code == 401 and "手机号或密码错误" in wrong.text and "puhui_session" not in str(client.cookies)
    right = post_form(client, "/app/login", "/app/login", phone=person(4)["phone"], password=person(4)["password"])
    assert right.status_code == 303 and client.get("/app").status_code == 200


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, engine) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 5)
    cid = customer_id_of(client)
    verify(client, cid)
    assert post_form(client, "/app/cards", "/app/cards", card_number=card(5)).status_code == 303
    card_id = re.search(r'<option value="(card_[0-9a-f]+)"', client.get("/app/top-up").text).group(1)
    for action, fields in (
        ("/app/top-up", {"card_id": card_id, "amount": "10.00"}),
        ("/app/cards", {"card_number": card(6)}),
        ("/app/logout", {}),
        ("/app/me/close", {"confirm": "on"}),
    ):
        no_token = client.post(action, data=fields, follow_redirects=False)
        wrong = client.post(action, data={**fields, "csrf_token": "x" * 43}, follow_redirects=False)
        assert no_token.status_code == wrong.status_code == 403, action
        assert "403" in no_token.text and "<html" in no_token.text
    assert "top_ups" in client.get("/v1/wallets/me/top-ups", headers=_bearer(client)).json()
    assert client.get("/v1/wallets/me/top-ups", headers=_bearer(client)).json()["top_ups"] == []
    assert len(client.get(f"/v1/customers/{cid}", headers=_bearer(client)).json()["cards"]) == 1
    assert client.get("/app").status_code == 200  # still signed in, still open


def _bearer(client) -> dict:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {client.cookies.get('puhui_session')}"}


def test_top_up_pay_by_qr_transfer_bills_and_fund_show_what_the_ledger_holds(app, client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    merchant_id, qr_id = merchant_qr(client)
    sign_up(client, 7)
    friend_cookies = dict(client.cookies)
    friend = customer_id_of(client)
    client.cookies.clear()
    sign_up(client, 8)
    cid = customer_id_of(client)
    verify(client, cid)
    assert post_form(client, "/app/cards", "/app/cards", card_number=card(8)).status_code == 303
    assert "622202" in client.get("/app/cards").text and card(8) not in client.get("/app/cards").text
    card_id = re.search(r'<option value="(card_[0-9a-f]+)"', client.get("/app/top-up").text).group(1)

    bad = post_form(client, "/app/top-up", "/app/top-up", card_id=card_id, amount="12.345")
    assert (
        bad.status_code == 422 and client.get("/v1/wallets/me/top-ups", headers=_bearer(client)).json()["top_ups"] == []
    )
    made = post_form(client, "/app/top-up", "/app/top-up", card_id=card_id, amount="1000.00")
    assert made.status_code == 303
    status_page = client.get(made.headers["location"])
    assert 'data-testid="order-status">处理中' in status_page.text and 'http-equiv="refresh"' in status_page.text
    settle_bank(app, engine)
    done = client.get(made.headers["location"])
    assert 'data-testid="order-status">成功' in done.text and "refresh" not in done.text
    assert balance(engine, cid) == "1000.00" and "¥1,000.00" in client.get("/app").text

    assert (
        client.post("/app/pay", data={**hidden(client.get("/app/pay").text), "payload": "nonsense"}).status_code == 422
    )
    scanned = post_form(client, "/app/pay", "/app/pay", payload=f"puhui://pay?code={qr_id}")
    assert scanned.headers["location"] == f"/app/pay/{qr_id}"
    paid = post_form(client, scanned.headers["location"], scanned.headers["location"], amount="88.50")
    assert paid.status_code == 303 and paid.headers["location"].startswith("/app/payments/")
    receipt = client.get(paid.headers["location"]).text
    assert "¥88.50" in receipt and 'data-testid="payee-name">兰州拉面馆<' in receipt and merchant_id not in receipt
    assert balance(engine, cid) == "911.50"

    moved = post_form(client, "/app/transfer", "/app/transfer", to_customer_id=friend, amount="11.50")
    assert moved.status_code == 303 and balance(engine, cid) == "900.00" and balance(engine, friend) == "11.50"

    bills = client.get("/app/bills").text
    assert bills.count('class="bill ') == 3 and "−¥88.50" in bills and "+¥1,000.00" in bills
    incoming = client.get("/app/bills", params={"direction": "in"}).text
    assert incoming.count('class="bill ') == 1 and "+¥1,000.00" in incoming
    paid_only = client.get("/app/bills", params={"kind": "qr_payment", "from": "2026-01-05", "to": "2026-01-05"}).text
    assert paid_only.count('class="bill ') == 1 and "−¥88.50" in paid_only
    assert client.get("/app/bills", params={"from": "2026-01-06"}).text.count('class="bill ') == 0
    backwards = client.get("/app/bills", params={"from": "2026-01-06", "to": "2026-01-05"})
    assert backwards.status_code == 422 and "开始日期晚于结束日期" in backwards.text and "更早的账单" not in bills

    fund = client.get("/app/fund", follow_redirects=True)
    assert fund.status_code == 200 and "普惠宝货币市场基金" in fund.text
    sub = post_form(client, "/app/fund/PH0001", "/app/fund/PH0001/subscribe", amount="500.00")
    assert sub.status_code == 303 and balance(engine, cid) == "400.00"
    assert "申购已提交" in client.get("/app/fund/PH0001").text
    too_much = post_form(client, "/app/fund/PH0001", "/app/fund/PH0001/subscribe", amount="5000.00")
    assert too_much.status_code in (409, 422) and balance(engine, cid) == "400.00"
    assert "钱包余额不足" in too_much.text
    unheld = post_form(client, "/app/fund/PH0001", "/app/fund/PH0001/redeem", units="10.00", speed="fast")
    assert unheld.status_code in (409, 422) and "持有份额不足" in unheld.text  # the subscription confirms T+1
    assert balance(engine, cid) == "400.00"

    out = post_form(client, "/app/withdraw", "/app/withdraw", card_id=card_id, amount="100.00")
    assert out.status_code == 303
    settle_bank(app, engine)
    assert 'data-testid="order-status">成功' in client.get(out.headers["location"]).text
    assert balance(engine, cid) == "300.00"
    assert friend_cookies  # the friend's own session is separate


def test_another_customers_orders_and_payments_are_not_reachable(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    _, qr_id = merchant_qr(client)
    sign_up(client, 9)
    verify(client, customer_id_of(client))
    post_form(client, "/app/cards", "/app/cards", card_number=card(9))
    card_id = re.search(r'<option value="(card_[0-9a-f]+)"', client.get("/app/top-up").text).group(1)
    order = post_form(client, "/app/top-up", "/app/top-up", card_id=card_id, amount="50.00").headers["location"]
    settle_bank(app, engine)
    receipt = post_form(client, f"/app/pay/{qr_id}", f"/app/pay/{qr_id}", amount="5.00").headers["location"]
    assert client.get(order).status_code == 200 and client.get(receipt).status_code == 200
    client.cookies.clear()
    sign_up(client, 10)
    for url in (order, receipt):
        other = client.get(url)
        assert other.status_code == 404 and "50.00" not in other.text and "5.00" not in other.text, url
    assert client.get("/app/bills").text.count('class="bill ') == 0


def test_staff_pages_and_the_api_are_not_opened_by_a_customer_cookie(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 11)
    for url in ("/ops", "/merchant", "/supervision", "/app/ops", "/app/../ops"):
        assert client.get(url).status_code in (401, 403, 404), url
    # the cookie is no API credential: a forged cross-site request to the API carries no bearer token
    for url in ("/v1/wallets/me", "/v1/ledger/accounts", "/v1/merchants", "/v1/events"):
        assert client.get(url).status_code == 401, url
    assert client.get("/v1/merchants", headers=_bearer(client)).status_code == 403


def test_unknown_app_pages_answer_the_404_page_in_the_visitors_language(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/app/no-such-page", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert (
        page.status_code == 404
        and "Page not found" in page.text
        and page.headers["content-type"].startswith("text/html")
    )
    for chinese in ("zh-CN", "zh-Hans-CN,en;q=0.5", "en;q=0.3, zh-TW"):
        assert "页面不存在" in client.get("/app/no-such-page", headers={"Accept-Language": chinese}).text, chinese


def test_the_language_follows_the_browser_then_the_switch(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 12)
    english = client.get("/app", headers={"Accept-Language": "en-US,en;q=0.8"}).text
    assert "Balance" in english and "CN¥0.00" in english and 'lang="en"' in english and "China time" in english
    switched = post_form(client, "/app", "/app/language", lang="zh_CN", next="/app/bills")
    assert switched.headers["location"] == "/app/bills"
    chinese = client.get("/app", headers={"Accept-Language": "en-US"}).text
    assert "余额" in chinese and 'lang="zh-CN"' in chinese and "北京时间" in chinese
    away = post_form(client, "/app", "/app/language", lang="en", next="https://evil.example/")
    assert away.headers["location"] == "/app"


def test_consent_is_withdrawn_and_the_account_closed_from_the_personal_data_page(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 13)
    cid = customer_id_of(client)
    withdrawn = post_form(client, "/app/me", "/app/me/consents", purpose="risk_control", granted="false")
    assert withdrawn.status_code == 303
    shown = client.get(f"/v1/customers/{cid}", headers=_bearer(client)).json()
    assert {c["purpose"]: c["granted"] for c in shown["consents"]}["risk_control"] is False
    exported = client.get("/app/me/export")
    assert exported.status_code == 200 and exported.json()["customer"]["id_number"] == person(13)["id_number"]
    unconfirmed = post_form(client, "/app/me", "/app/me/close")
    assert unconfirmed.status_code == 422
    closed = post_form(client, "/app/me", "/app/me/close", confirm="on")
    assert closed.status_code == 303 and closed.headers["location"] == "/app/login"
    assert client.get(f"/v1/customers/{cid}", headers=ADMIN).json()["status"] == "closed"


def test_a_form_sent_twice_tops_up_once(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 14)
    cid = customer_id_of(client)
    verify(client, cid)
    post_form(client, "/app/cards", "/app/cards", card_number=card(14))
    page = client.get("/app/top-up").text
    card_id = re.search(r'<option value="(card_[0-9a-f]+)"', page).group(1)
    form = {**hidden(page), "card_id": card_id, "amount": "30.00"}
    first = client.post("/app/top-up", data=form, follow_redirects=False)
    again = client.post("/app/top-up", data=form, follow_redirects=False)  # a double click, a resent form
    assert first.headers["location"] == again.headers["location"]
    settle_bank(app, engine)
    assert len(client.get("/v1/wallets/me/top-ups", headers=_bearer(client)).json()["top_ups"]) == 1
    assert balance(engine, cid) == "30.00"


def test_over_https_the_cookies_are_secure_and_pages_load_only_their_own_files(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as secure:
        made = sign_up(secure, 15)
        cookies = made.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("puhui_session="))
        assert "Secure" in session and "HttpOnly" in session and "SameSite=lax" in session
        page = secure.get("/app")
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert page.headers["cache-control"] == "no-store"


def test_the_fund_page_draws_the_published_7_day_yields_as_an_svg_chart(client, clock) -> None:  # type: ignore[no-untyped-def]
    days = [f"2025-12-{d}" for d in range(22, 32)] + ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
    lines = "".join(f"PH0001,{day},{0.4 + n / 100:.4f}\n" for n, day in enumerate(days))
    loaded = client.post("/v1/wealth/figures", headers=ADMIN, json={"csv": "fund_code,date,income_per_10k\n" + lines})
    assert loaded.status_code in (200, 201), loaded.text
    sign_up(client, 16)
    fund = client.get("/v1/wealth/funds/PH0001", headers=_bearer(client)).json()["latest"]
    yields = client.get("/v1/wealth/funds/PH0001/yields", headers=_bearer(client)).json()
    drawn = [y for y in yields if y["seven_day_yield"] is not None]
    page = client.get("/app/fund/PH0001").text
    assert f'data-testid="per-10k">{fund["income_per_10k"]}<' in page
    assert f'data-testid="seven-day">{fund["seven_day_yield"]}%<' in page
    chart = re.search(r'<svg class="chart".*?</svg>', page, re.S).group(0)
    points = re.search(r'points="([^"]+)"', chart).group(1).split()
    assert len(drawn) >= 2 and len(points) == len(drawn)
    assert "<title>七日年化收益率</title>" in chart and drawn[0]["date"][5:] in chart  # the newest day, last
    heights = [float(p.split(",")[1]) for p in points]
    rising = [float(y["seven_day_yield"]) for y in reversed(drawn)]
    assert sorted(range(len(heights)), key=lambda i: -heights[i]) == sorted(range(len(rising)), key=lambda i: rising[i])


def test_a_link_may_name_the_language_and_carry_what_campaigns_add(client) -> None:  # type: ignore[no-untyped-def]
    """`/app?lang=en` is the page in English (a new user's guess answered 422 JSON); a tracking parameter
    does not turn a page into a problem; the API still refuses a parameter it does not take."""
    sign_up(client, 14)
    for asked in ("en", "en-GB"):
        page = client.get(f"/app?lang={asked}", headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text
        assert 'lang="en"' in page.text and "Balance" in page.text, asked
    chinese = client.get("/app?lang=zh", headers={"Accept-Language": "en-US"})
    assert chinese.status_code == 200 and 'lang="zh-CN"' in chinese.text
    unknown = client.get("/app?lang=xx&utm_source=newsletter", headers={"Accept-Language": "en-US"})
    assert unknown.status_code == 200 and 'lang="en"' in unknown.text  # an unknown language: the browser's
    assert client.get("/app", headers={"Accept-Language": "en-US"}).status_code == 200
    refused = client.get("/v1/wallets/me?lang=en", headers=_bearer(client))
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_query_parameter"


def test_a_pages_incomplete_link_gets_a_page_not_a_json_problem(client) -> None:  # type: ignore[no-untyped-def]
    """`/app/insurance/buy` without its product answered the API's 422 JSON to a browser."""
    sign_up(client, 15)
    for link in ("/app/insurance/buy", "/app/insurance/buy?code=Bad!&version=1", "/app/bills?before=0"):
        page = client.get(link, headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 422 and page.headers["content-type"].startswith("text/html"), link
        assert "链接不完整或含有错误的值" in page.text, link
    assert client.get("/v1/wallets/me/transactions?before=0", headers=_bearer(client)).json()["code"] == (
        "invalid_request"
    )


def test_a_link_in_english_reaches_the_log_in_page_in_english(client) -> None:  # type: ignore[no-untyped-def]
    """Signed out, `/app?lang=en` goes to the log-in page with the language it asked for."""
    sent = client.get("/app?lang=en", headers={"Accept-Language": "zh-CN"}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/app/login?lang=en", sent.headers
    page = client.get(sent.headers["location"], headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and 'lang="en"' in page.text
    plain = client.get("/app", follow_redirects=False)
    assert plain.headers["location"] == "/app/login"
