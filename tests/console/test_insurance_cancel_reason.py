"""The policy page says what cancelling refunds and why, before and after, wholly in the customer's language
(on SQLite and PostgreSQL). A new user bought a 299.00 policy, was paid 3,000.00 on a claim and read "within
the cooling-off period … the whole premium comes back. Refund if cancelled today: CN¥0.00", then after
cancelling "Refunded CN¥0.00" with no reason. Now the page gives the claim as the reason, both times."""

from __future__ import annotations

import base64
import re
from decimal import Decimal

from .test_customer_pages import balance
from .test_insurance_pages import (  # noqa: F401 - the insurer fixture
    audit_clean,
    buy,
    customer,
    days_later,
    insurer,
    staff_token,
)
from .world import hidden

CJK = re.compile(r"[\u4e00-\u9fff]")


def reason(page: str) -> str:
    found = re.search(r'data-testid="refund-reason">([^<]+)<', page)
    assert found is not None, page
    return found.group(1)


def in_english(client, url: str) -> str:
    client.cookies.set("puhui_lang", "en")
    try:
        return client.get(url).text
    finally:
        client.cookies.delete("puhui_lang")


def test_a_paid_claim_is_told_as_the_reason_before_and_after_cancelling(client, engine, insurer, clock) -> None:
    operator = staff_token(client, "operator", "operator.funding")
    funded = client.post(
        f"/v1/insurance/insurers/{insurer}/funding",
        headers={"Authorization": f"Bearer {operator}", "Idempotency-Key": "fund-1"},
        json={"amount": "50000.00"},
    )
    assert funded.status_code == 201, funded.text
    cid = customer(client, engine, 31)
    before = balance(engine, cid)
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    page = client.get(url).text
    assert 'data-testid="refund-if-cancelled">¥299.00<' in page and "全额退还保费 ¥299.00" in reason(page)

    days_later(client, clock, 31)  # 2026-01-10, within the cooling-off period
    form = {
        **hidden(client.get("/app/insurance/claims").text),
        "policy_id": url.rsplit("/", 1)[1],
        "kind": "accident",
        "condition": "S52",
        "event_date": "2026-01-08",
        "billed": "13000.00",  # less the 10,000 deductible, ratio 1 with social insurance: 3,000.00
        "document_name": "invoice.pdf",
        "document_type": "application/pdf",
        "document_content": base64.b64encode(b"%PDF-1.4 invoice 13,000 CNY" * 50).decode(),
    }
    reported = client.post("/app/insurance/claims", data=form, follow_redirects=False)
    assert reported.status_code == 303, reported.text
    assert 'data-testid="claim-benefit">¥3,000.00<' in client.get(reported.headers["location"]).text

    page = client.get(url).text  # before cancelling: what they will get and why
    told = reason(page)
    assert 'data-testid="refund-if-cancelled">¥0.00<' in page
    assert "¥3,000.00" in told and "退保退费为零" in told and "全额退还" not in told
    assert not re.search(r"[A-Za-z]{3,}", told), told  # wholly Chinese
    english = in_english(client, url)
    told_en = reason(english)
    assert 'data-testid="refund-if-cancelled">CN¥0.00<' in english
    assert "Claims of CN¥3,000.00 have been paid under this policy, so cancelling it refunds nothing" in told_en
    assert "whole premium comes back" not in english and not CJK.search(told_en), told_en

    done = client.post(f"{url}/cancel", data=hidden(page), follow_redirects=False)
    assert done.status_code == 303
    after = client.get(url).text
    assert "已退保" in after and 'data-testid="refund">¥0.00<' in after and reason(after) == told
    after_en = in_english(client, url)
    assert 'data-testid="refund">CN¥0.00<' in after_en and reason(after_en) == told_en
    assert Decimal(balance(engine, cid)) == Decimal(before) - Decimal("299.00") + Decimal("3000.00")
    audit_clean(engine)


def test_the_cooling_off_and_the_pro_rata_reasons_in_both_languages(client, engine, insurer, clock) -> None:
    customer(client, engine, 32)
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    page = client.get(url).text
    assert reason(page) == "在犹豫期内（至 2026年1月20日 止）退保，全额退还保费 ¥299.00。", reason(page)
    assert reason(in_english(client, url)) == (
        "Cancelled within the cooling-off period (through Jan 20, 2026), the whole premium of CN¥299.00 comes back."
    )
    days_later(client, clock, 32, days=40)  # 2026-02-14: past it
    page = client.get(url).text
    told, told_en = reason(page), reason(in_english(client, url))
    assert "犹豫期已于 2026年1月20日 结束" in told and "未满期保费" in told and not re.search(r"[A-Za-z]{3,}", told)
    assert told_en.startswith("The cooling-off period ended on Jan 20, 2026, so only the unearned premium comes back")
    assert not CJK.search(told_en)
    refund = re.search(r'data-testid="refund-if-cancelled">¥([0-9.,]+)<', page).group(1)  # type: ignore[union-attr]
    assert f"¥{refund}" in told
    client.post(f"{url}/cancel", data=hidden(page), follow_redirects=False)
    after = client.get(url).text
    assert f'data-testid="refund">¥{refund}<' in after and reason(after) == told
    assert 'data-testid="policy-status">已退保<' in after
    audit_clean(engine)
