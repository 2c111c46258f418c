"""The customer app tells the brokerage's two new refusals in the page's language, on SQLite and PostgreSQL,
and changes nothing: a protective price on a SZSE share's market order (`protect_not_on_exchange`, SSE's
alone), and moving the day's sale proceeds back to the wallet before they settle (`cash_not_withdrawable`:
可用 at once for buying, 可取 from T+1)."""

from __future__ import annotations

from puhui.console import app_securities, i18n
from puhui.db import transaction
from puhui.securities import accounts as brokerage
from puhui.securities import gateway, orders

from .test_customer_pages import post_form
from .test_insurance_pages import audit_clean
from .test_new_problem_codes import said
from .test_securities_pages import HOME, THURSDAY, counts, ledger, log_in_as, open_brokerage

ZH = i18n.Formatter("zh_CN").gettext


def test_a_szse_protective_price_and_unsettled_proceeds_are_told_plainly(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    seller = open_brokerage(client, engine, 71, "1000.00")
    transaction(engine, lambda uow: orders.deposit_shares(uow, seller, "000001", 1000, "venue-seller"))
    placed = post_form(client, HOME, f"{HOME}/order", code="000001", side="sell", quantity="100", price="11.50")
    assert placed.status_code == 303, placed.text
    buyer = open_brokerage(client, engine, 72, "10000.00")
    before = counts(engine)
    refused = post_form(
        client,
        HOME,
        f"{HOME}/market-order",
        code="000001",
        side="buy",
        type="best5_ioc",
        quantity="100",
        protect="12.00",
    )
    message = app_securities.PROTECT_REFUSALS["protect_not_on_exchange"]
    assert (refused.status_code, said(refused.text)) == (422, ZH(message)) and ZH(message) != message
    assert counts(engine) == before
    bought = post_form(
        client, HOME, f"{HOME}/market-order", code="000001", side="buy", type="fok", quantity="100"
    )  # SZSE's own kind, without a protective price
    assert bought.status_code == 303, bought.text
    assert ledger(engine, brokerage.frozen_cash_account(buyer)) == "0.00"

    log_in_as(client, 71)  # the seller: 1,000.00 settled, and 1,150.00 less fees sold today
    before = counts(engine)
    refused = post_form(client, HOME, f"{HOME}/transfer", direction="out", amount="1000.01")
    message = app_securities.REFUSALS["cash_not_withdrawable"]
    assert (refused.status_code, said(refused.text)) == (409, ZH(message)) and ZH(message) != message
    assert counts(engine) == before
    assert post_form(client, HOME, f"{HOME}/transfer", direction="out", amount="1000.00").status_code == 303
    audit_clean(engine)
