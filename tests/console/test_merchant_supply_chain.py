"""The merchant portal's supply-chain finance (/merchant/supply-chain) over HTTP on the demo world: a merchant
that is no core enterprise is told so; a core enterprise sees its credit, confirms a payable to a supplier
(a refused one told in Chinese with what was typed kept, nothing confirmed), tops up its payables funds; the
supplier sells the receivable at a discount; the core cannot pay before maturity and pays at maturity from its
payables funds. Each side sees the other by its trading name, the merchant id under it. Each step is checked
against the API, and the ledger's audit passes at the end."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from puhui import clock as clock_module
from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.payments.bank import worker

from .staff_world import demo, log_in, post_form  # noqa: F401 - the fixture
from .world import ADMIN

PAGE = "/merchant/supply-chain"


def _section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    end = page.find('data-testid="', start + 20)
    return page[start : end if end > 0 else len(page)]


def _named(merchant: dict) -> str:
    """A counterparty cell: the merchant's trading name, its id under it in small type."""
    return f'{merchant["name"]}<br><span class="mono">{merchant["id"]}</span>'


def test_a_core_enterprise_confirms_and_pays_and_its_supplier_finances(demo, engine, clock) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    core, supplier = world.merchants[0], world.merchants[1]
    core_key = {"Authorization": f"Bearer {core['api_key']}"}
    supplier_key = {"Authorization": f"Bearer {supplier['api_key']}"}

    log_in(client, core["api_key"])
    page = client.get(PAGE)
    assert page.status_code == 200 and "供应链金融" in page.text and 'href="/merchant/supply-chain"' in page.text
    assert "本商户不是核心企业" in page.text and "兑付资金" not in page.text

    registered = client.post(
        "/v1/supplychain/core-enterprises",
        headers={**ADMIN, "Idempotency-Key": "scf-core"},
        json={"merchant_id": core["id"], "credit_limit": "100000.00", "discount_rate": "0.06"},
    )
    assert registered.status_code == 201, registered.text
    page = client.get(PAGE).text
    credit = _section(page, "core-credit")
    assert "授信额度" in credit and "100,000.00" in credit and "6.00%" in credit
    assert "本商户不是核心企业" not in page

    today = clock_module.business_date()
    refused = post_form(
        client,
        PAGE,
        PAGE + "/payables",
        supplier_id=supplier["id"],
        face_amount="10000.00",
        maturity_date=today.isoformat(),
        invoice_ref="INV-1",
    )
    assert refused.status_code == 422 and "到期日须在今天之后的1至365天内" in refused.text, refused.text
    assert 'value="INV-1"' in refused.text and 'value="10000.00"' in refused.text
    assert client.get("/v1/supplychain/receivables", headers=core_key).json() == []

    maturity = today + dt.timedelta(days=30)
    confirmed = post_form(
        client,
        PAGE,
        PAGE + "/payables",
        supplier_id=supplier["id"],
        face_amount="10000.00",
        maturity_date=maturity.isoformat(),
        invoice_ref="INV-1",
    )
    assert confirmed.status_code == 303, confirmed.text
    receivable_id = re.search(r"receivable=([^&]+)", confirmed.headers["location"]).group(1)
    shown = client.get(confirmed.headers["location"]).text
    assert "应付账款已确权" in shown and "INV-1" in _section(shown, "payables")
    # the supplier by its trading name, its id under it for reference; both sides named on the receivable
    assert _named(supplier) in _section(shown, "payables")
    assert _named(core) in _section(shown, "receivable") and _named(supplier) in _section(shown, "receivable")
    assert 'action="/merchant/supply-chain/receivables/' not in _section(shown, "receivable")  # not due: no pay form
    assert client.get("/v1/supplychain/core-enterprises/me", headers=core_key).json()["used"] == "10000.00"

    early = post_form(client, PAGE, f"{PAGE}/receivables/{receivable_id}/payment")
    assert early.status_code == 409 and "该应收账款尚未到期" in early.text

    too_much = post_form(client, PAGE, PAGE + "/payables-funds/withdrawals", amount="1.00")
    assert too_much.status_code == 409 and "兑付资金的可用余额不足" in too_much.text
    sent = post_form(client, PAGE, PAGE + "/payables-funds/top-ups", amount="10000.00")
    assert sent.status_code == 303 and sent.headers["location"] == PAGE + "?sent=top_up"
    assert "充值已提交银行" in client.get(sent.headers["location"]).text
    worker.deliver(engine, client.app.state.bank, clock_module.now())
    funds = client.get("/v1/supplychain/core-enterprises/me/payables-funds", headers=core_key).json()
    assert funds["available"] == "10000.00", funds
    assert "10,000.00" in _section(client.get(PAGE).text, "payables-funds")

    log_in(client, supplier["api_key"])
    page = client.get(PAGE).text
    assert "可申请保理融资" in _section(page, "receivables") and "本商户不是核心企业" in page
    assert _named(core) in _section(page, "receivables")  # the core enterprise by name, not its id alone
    before = Decimal(client.get("/v1/wallets/me", headers=supplier_key).json()["balance"])
    sold = post_form(client, f"{PAGE}?receivable={receivable_id}", f"{PAGE}/receivables/{receivable_id}/financing")
    assert sold.status_code == 303, sold.text
    after = client.get(f"/v1/supplychain/receivables/{receivable_id}", headers=supplier_key).json()
    assert after["status"] == "financed"
    advance = Decimal(after["financing"]["advance"])
    assert Decimal(client.get("/v1/wallets/me", headers=supplier_key).json()["balance"]) == before + advance
    view = client.get(sold.headers["location"]).text
    assert "已转让" in view and "已保理" in view and f"{advance:,}" in _section(view, "receivable")
    again = post_form(client, PAGE, f"{PAGE}/receivables/{receivable_id}/financing")
    assert again.status_code == 409 and "该应收账款已办理保理融资" in again.text

    clock.advance(hours=24 * 30)
    log_in(client, core["api_key"])
    due = client.get(f"{PAGE}?receivable={receivable_id}").text
    assert "已到期：待兑付" in _section(due, "payables") and "立即兑付票面金额" in due
    paid = post_form(client, PAGE, f"{PAGE}/receivables/{receivable_id}/payment")
    assert paid.status_code == 303, paid.text
    assert client.get(f"/v1/supplychain/receivables/{receivable_id}", headers=core_key).json()["status"] == "paid"
    funds = client.get("/v1/supplychain/core-enterprises/me/payables-funds", headers=core_key).json()
    assert funds["available"] == "0.00"
    assert "已兑付" in client.get(paid.headers["location"]).text
    with reading(engine) as connection:
        assert audit(connection).ok


def test_a_merchant_sees_only_its_own_receivables(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    core, supplier, other = world.merchants[0], world.merchants[1], world.merchants[2]
    client.post(
        "/v1/supplychain/core-enterprises",
        headers={**ADMIN, "Idempotency-Key": "scf-core-2"},
        json={"merchant_id": core["id"], "credit_limit": "50000.00", "discount_rate": "0.05"},
    )
    log_in(client, core["api_key"])
    maturity = (clock_module.business_date() + dt.timedelta(days=10)).isoformat()
    made = post_form(
        client,
        PAGE,
        PAGE + "/payables",
        supplier_id=supplier["id"],
        face_amount="500.00",
        maturity_date=maturity,
        invoice_ref="INV-2",
    )
    receivable_id = re.search(r"receivable=([^&]+)", made.headers["location"]).group(1)
    log_in(client, other["api_key"])
    assert "INV-2" not in client.get(PAGE).text
    assert client.get(f"{PAGE}?receivable={receivable_id}").status_code == 404
    stolen = post_form(client, PAGE, f"{PAGE}/receivables/{receivable_id}/financing")
    assert stolen.status_code in (403, 404) and "INV-2" not in stolen.text
