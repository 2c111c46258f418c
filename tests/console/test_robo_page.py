"""The ETF robo-advice page of the customer app (/app/securities/robo) over plain HTTP, on SQLite and
PostgreSQL: without a questionnaire the page says to take it; assessed, it shows the advisor's target
portfolio, how it was chosen and the least amount; an amount under it is refused and changes nothing;
a subscription buys the ETFs in whole lots against a provider's offers, and the page then shows the
holdings, weights, targets and drift the API and the ledger hold, the performance, and no
rebalance while every weight is within the threshold. Another customer sees none of it."""

from __future__ import annotations

from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.ledger.tables import transfers
from puhui.securities import accounts as brokerage
from puhui.securities import gateway, orders
from puhui.securities.models import Side
from puhui.securities.robo import service
from puhui.securities.tables import securities_orders
from tests.securities.test_brokerage_http import expire_assessment
from tests.securities.test_robo_execution import START, assess

from .test_customer_pages import post_form
from .test_insurance_pages import audit_clean
from .test_securities_pages import HOME, THURSDAY, ledger, log_in_as, money, open_brokerage, shown

PAGE = f"{HOME}/robo"


def counts(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(t)).scalar_one() for t in (securities_orders, transfers)
        )


def test_a_customer_reads_the_proposal_subscribes_and_sees_the_portfolio(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    maker = open_brokerage(client, engine, 43, "1000.00")
    investor = open_brokerage(client, engine, 44, "60000.00")  # assessed to open the account (投资者适当性)
    expire_assessment(engine, clock, investor)  # then the questionnaire lapses
    unassessed = client.get(PAGE)
    assert unassessed.status_code == 200 and "请先完成风险测评" in unassessed.text

    clock.advance(seconds=1)
    assess(engine, investor, highest=True)
    for code, price in START.items():  # the provider offers 20,000 units of each of the C5 portfolio's ETFs
        transaction(engine, lambda uow, c=code: orders.deposit_shares(uow, maker, c, 20_000, f"console-{c}"))
        offer = orders.OrderRequest(code, Side.sell, 20_000, price)
        transaction(engine, lambda uow, r=offer: orders.place(uow, maker, r, f"offer-{r.code}"))
    page = client.get(PAGE).text
    with reading(engine) as connection:
        proposal = service.proposal(connection, investor)
    assert proposal["method"] == "model_portfolio" and "模型组合" in page  # no 20 days of ETF closes yet
    for target in proposal["targets"]:
        assert f'data-testid="target-{target["code"]}"' in page
    least = proposal["minimum_amount"]
    assert money(shown(page, "robo-minimum").split("起投")[0]) == f"{least / 100:.2f}"

    before = counts(engine)
    refused = post_form(client, PAGE, f"{PAGE}/subscribe", amount=f"{(least - 1) / 100:.2f}")
    assert refused.status_code == 422 and "金额不足以买入组合中每只ETF各一手" in refused.text
    assert counts(engine) == before

    bought = post_form(client, PAGE, f"{PAGE}/subscribe", amount="50000.00")
    assert bought.status_code == 303, bought.text
    page = client.get(PAGE).text
    assert "组合已买入" in page
    with reading(engine) as connection:
        status = service.status(connection, investor)
        cash = brokerage.cash(connection, investor)
    assert money(shown(page, "robo-value")) == f"{status['value'] / 100:.2f}"
    assert money(shown(page, "robo-cash")) == f"{status['cash'] / 100:.2f}"
    for line in status["holdings"]:
        held = page[page.index(f'data-testid="holding-{line["code"]}"') :]
        assert shown(held, "units") == str(line["units"]) and line["units"] % 100 == 0
        assert money(shown(held, "value")) == f"{line['value'] / 100:.2f}"
    assert ledger(engine, brokerage.cash_account(investor)) == f"{cash / 100:.2f}"
    assert 'data-testid="robo-within"' in page and f"{PAGE}/rebalance" not in page
    assert 'data-testid="robo-return"' in page

    log_in_as(client, 43)  # the provider has no portfolio and sees none of the investor's
    theirs = client.get(PAGE).text
    assert 'data-testid="robo-holdings"' not in theirs and shown(page, "robo-value") not in theirs
    audit_clean(engine)
