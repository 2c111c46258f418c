"""The merchant portal's return-shipping insurance (/merchant/return-shipping) over HTTP on the demo world, on
SQLite and PostgreSQL: a buyer pays two of a merchant's orders with cover at checkout; the merchant finds the
page in its menu and sees both, newest first (order reference, the buyer's name masked, premium, claim, status
with the last covered day); it confirms the return of one and is told the amount the buyer was paid, which
reaches the buyer's wallet; a second confirmation is told the return was already claimed and pays nothing; the
other order, confirmed after its cover's term, is refused in Chinese (and in English) with the day the cover
ended, and nothing changes; the ledger's audit passes. Another merchant neither sees nor confirms them."""

from __future__ import annotations

import datetime as dt
import re

from puhui import clock as clock_module
from puhui.console import i18n
from puhui.db import reading
from puhui.demo import RETURN_SHIPPING
from puhui.identity.models import mask_name
from puhui.ledger.audit import audit
from tests.insurance.test_return_shipping_http import balance, snapshot

from .staff_world import demo, log_in, post_form  # noqa: F401 - the fixture

PAGE = "/merchant/return-shipping"
API = "/v1/insurance/return-shipping"
ZH = i18n.Formatter("zh_CN")


def _section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    end = page.find('data-testid="', start + 20)
    return page[start : end if end > 0 else len(page)]


def _key(merchant: dict) -> dict:
    return {"Authorization": f"Bearer {merchant['api_key']}"}


def _buyer(client, customer: dict) -> dict:
    """The buyer's session afresh (a token lives 15 minutes)."""
    body = {"phone": customer["phone"], "password": customer["password"]}
    answer = client.post("/v1/customers/login", json=body)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _covered_order(client, merchant: dict, buyer: dict, order_ref: str, amount: str = "88.00") -> dict:
    """The buyer pays the merchant's dynamic QR code for `order_ref` with return-shipping cover: its policy."""
    made = client.post(
        f"/v1/merchants/{merchant['id']}/qr-codes",
        headers=_key(merchant),
        json={"kind": "dynamic", "amount": amount, "expires_in_seconds": 600, "order_ref": order_ref},
    )
    assert made.status_code == 201, made.text
    body = {"qr_id": made.json()["id"], "product_code": RETURN_SHIPPING["code"], "product_version": 1}
    paid = client.post(f"{API}/checkout", headers={**buyer, "Idempotency-Key": f"co-{order_ref}"}, json=body)
    assert paid.status_code == 201, paid.text
    return paid.json()["policy"]


def _last_covered_day(policy: dict) -> dt.date:
    return dt.date.fromisoformat(policy["cover_end"]) - dt.timedelta(days=1)


def test_a_merchant_confirms_a_return_once_and_a_late_one_is_refused(demo, engine, clock) -> None:
    client, world = demo
    shop, customer = world.merchants[0], world.customers[0]
    wallet = f"wallet.{customer['id']}"
    buyer = _buyer(client, customer)
    first = _covered_order(client, shop, buyer, "RS-1001")
    clock.advance(minutes=5)
    second = _covered_order(client, shop, buyer, "RS-1002")
    assert first["status"] == second["status"] == "active" and first["claim_amount"] == "12.00"

    log_in(client, shop["api_key"])
    page = client.get(PAGE)
    assert page.status_code == 200, page.text
    assert 'href="/merchant/return-shipping"' in page.text and "退货运费险" in page.text
    listed = _section(page.text, "covered-orders")
    assert listed.index("RS-1002") < listed.index("RS-1001")  # newest first
    for policy, ref in ((first, "RS-1001"), (second, "RS-1002")):
        assert policy["id"] in listed and ref in listed
    masked = mask_name(customer["name"])
    assert masked in listed and customer["name"] not in page.text  # the buyer's name masked as the platform masks it
    assert ZH.money(first["premium"]) in listed and ZH.money("12.00") in listed
    assert "保障中" in listed and f"{ZH.day(_last_covered_day(first))} 24时" in listed
    assert "已理赔" not in listed

    view = f"{PAGE}?policy={first['id']}"
    shown = _section(client.get(view).text, "covered-order")
    assert "RS-1001" in shown and "确认退货,向买家赔付 ¥12.00" in shown
    assert f'action="{PAGE}/policies/{first["id"]}/return"' in shown

    before = balance(engine, wallet)
    confirmed = post_form(client, view, f"{PAGE}/policies/{first['id']}/return")
    assert confirmed.status_code == 303, confirmed.text
    assert confirmed.headers["location"] == view
    told = client.get(view).text
    assert "退货已确认,已向买家钱包赔付 ¥12.00。" in told, told
    assert "已理赔" in _section(told, "covered-order") and "确认退货,向买家赔付" not in told
    assert balance(engine, wallet) == before + 12_00
    read = client.get(f"{API}/merchants/me/policies/{first['id']}", headers=_key(shop)).json()
    assert (
        read["policy"]["status"] == "claimed" and read["claim"]["amount"] == "12.00" and read["order_ref"] == "RS-1001"
    )

    again = post_form(client, view, f"{PAGE}/policies/{first['id']}/return")  # a stale page, sent again
    assert again.status_code == 303 and again.headers["location"] == view
    told = client.get(view).text
    assert "该退货此前已确认" in told and "本次未再赔付" in told and "已理赔" in told
    assert balance(engine, wallet) == before + 12_00  # paid once
    assert "已理赔" in _section(client.get(PAGE).text, "covered-orders")

    # the second order: the page was open before midnight, the button is pressed when the cover has ended
    stale = f"{PAGE}?policy={second['id']}"
    assert "确认退货,向买家赔付" in client.get(stale).text
    clock.set(clock_module.china_midnight(dt.date.fromisoformat(second["cover_end"])))
    unchanged, money = snapshot(engine), balance(engine, wallet)
    late = post_form(client, PAGE, f"{PAGE}/policies/{second['id']}/return")
    ended = ZH.day(_last_covered_day(second))
    assert late.status_code == 409, late.text
    assert late.text.count(f"保障已于北京时间{ended} 24时结束,不能再确认退货。") == 1  # told once
    assert "已过期" in _section(late.text, "covered-order") and "确认退货,向买家赔付" not in late.text
    assert snapshot(engine) == unchanged and balance(engine, wallet) == money  # no claim, no transfer, no event
    read = client.get(f"{API}/merchants/me/policies/{second['id']}", headers=_key(shop)).json()
    assert read["policy"]["status"] == "expired" and read["claim"] is None

    client.cookies.set(i18n.COOKIE, "en")
    english = post_form(client, PAGE, f"{PAGE}/policies/{second['id']}/return")
    day = i18n.Formatter("en").day(_last_covered_day(second))
    assert english.status_code == 409 and f"The cover ended at 24:00 China time on {day}" in english.text
    assert "Return shipping" in english.text and "expired" in _section(english.text, "covered-order")
    assert snapshot(engine) == unchanged
    with reading(engine) as connection:
        assert audit(connection).ok


def test_another_merchant_neither_sees_nor_confirms_them(demo, engine) -> None:
    client, world = demo
    shop, other, customer = world.merchants[0], world.merchants[1], world.customers[1]
    policy = _covered_order(client, shop, _buyer(client, customer), "RS-2001")
    wallet = balance(engine, f"wallet.{customer['id']}")

    log_in(client, other["api_key"])
    page = client.get(PAGE)
    assert page.status_code == 200 and policy["id"] not in page.text and "RS-2001" not in page.text
    assert client.get(f"{PAGE}?policy={policy['id']}").status_code == 404
    stolen = post_form(client, PAGE, f"{PAGE}/policies/{policy['id']}/return")
    assert stolen.status_code == 404 and "没有这笔投保订单。" in stolen.text and "RS-2001" not in stolen.text
    listed = client.get(f"{API}/merchants/me/policies", headers=_key(other)).json()
    assert policy["id"] not in {c["policy"]["id"] for c in listed["policies"]}
    assert client.get(f"{API}/merchants/me/policies/{policy['id']}", headers=_key(other)).status_code == 404

    read = client.get(f"{API}/merchants/me/policies/{policy['id']}", headers=_key(shop)).json()
    assert read["policy"]["status"] == "active" and read["claim"] is None  # untouched
    assert balance(engine, f"wallet.{customer['id']}") == wallet
    log_in(client, shop["api_key"])
    assert "RS-2001" in _section(client.get(PAGE).text, "covered-orders")


def test_the_list_pages_newest_first(demo, clock) -> None:
    client, world = demo
    shop, customer = world.merchants[2], world.customers[2]
    buyer = _buyer(client, customer)
    made = []
    for n in range(22):
        made.append(_covered_order(client, shop, buyer, f"RS-3{n:03d}", amount="10.00")["id"])
        clock.advance(seconds=10)
    log_in(client, shop["api_key"])
    first = _section(client.get(PAGE).text, "covered-orders")
    assert made[-1] in first and made[2] in first and made[1] not in first and made[0] not in first
    assert re.search(r'name="offset" value="20"', first)
    older = _section(client.get(f"{PAGE}?offset=20").text, "covered-orders")
    assert made[1] in older and made[0] in older and made[2] not in older
    assert 'name="offset"' not in older and f'action="{PAGE}"' in older  # the last page: back to the newest
