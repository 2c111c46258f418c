"""The credit pages tell what can be used now and why a pay-later checkout is refused (new-user pass):
`/app/credit` and the checkout show the line's `drawable_now` — not its bare `available` — with the reason
it is lower, and a checkout risk control would hold says what happens next, naming no fraud rule."""

from __future__ import annotations

import re
from types import SimpleNamespace

from sqlalchemy import update

from puhui.db import transaction
from puhui.lending.lines.tables import credit_lines
from puhui.payments import risk_hook

from .test_credit_pages import _bearer, _customer_with_money, _open_line, _posted
from .world import hidden, merchant_qr


def test_the_credit_page_shows_what_can_be_used_now_and_why(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    cid = _customer_with_money(app, client, engine, 61, "100.00")
    line = _open_line(client, engine, cid, "5000.00")
    assert 'data-testid="line-available">¥5,000.00<' in client.get("/app/credit").text
    # the income on file is now 9,000 a year: what is owed may not pass 3,000
    transaction(
        engine,
        lambda uow: uow.execute(
            update(credit_lines).where(credit_lines.c.id == line["id"]).values(annual_income=9_000_00)
        ),
    )
    page = client.get("/app/credit").text
    assert 'data-testid="line-available">¥3,000.00<' in page and "¥5,000.00" in page  # limit still shown
    reason = re.search(r'data-testid="line-drawable-reason">([^<]*)<', page)
    assert reason is not None and "年收入的三分之一" in reason.group(1) and "¥5,000.00" in reason.group(1)
    answer = client.get("/v1/lending/lines/me", headers=_bearer(client)).json()
    assert (answer["available"], answer["drawable_now"], answer["drawable_now_reason"]) == (
        "5000.00",
        "3000.00",
        "income_third",
    )
    _, qr_id = merchant_qr(client)
    checkout = client.get(f"/app/pay/{qr_id}/later?amount=100.00").text
    assert 'data-testid="line-available">¥3,000.00<' in checkout


class _Review:
    def assess(self, request, connection=None):  # type: ignore[no-untyped-def]
        return SimpleNamespace(decision=risk_hook.Decision(risk_hook.Outcome.review, ("amount_10x_norm",)))

    def record(self, uow, request, assessment, payment_ref=None):  # type: ignore[no-untyped-def]
        return None


def test_a_held_checkout_says_what_happens_next(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    merchant_id, qr_id = merchant_qr(client)
    cid = _customer_with_money(app, client, engine, 62, "100.00")
    _open_line(client, engine, cid, "5000.00")
    form = hidden(client.get(f"/app/pay/{qr_id}/later?amount=450.00").text)
    risk_hook.install(engine, _Review())
    try:
        refused = client.post(f"/app/pay/{qr_id}/later", data={**form, "plan": "pay_later", "amount": "450.00"})
    finally:
        risk_hook.uninstall(engine)
    assert refused.status_code == 409
    assert "未扣任何款项" in refused.text and "请改用钱包付款" in refused.text
    assert 'data-testid="pay-from-wallet"' in refused.text and "amount_10x_norm" not in refused.text
    assert _posted(engine, f"wallet.{cid}") == "100.00"
    assert client.get("/v1/lending/loans", headers=_bearer(client)).json() == []
    assert merchant_id
