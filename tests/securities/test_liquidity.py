"""The sandbox's liquidity provider (做市), on SQLite and PostgreSQL: a ladder of three bids and three offers
around the reference price, in whole lots inside the band; kept while the reference stays within a step
of its middle, cancelled and placed again when it moves; nothing after the close; a customer's order
fills against it; the market loop serves only designated providers; every order goes through the
ordinary path and the audit passes."""

from __future__ import annotations

import datetime as dt

from puhui.db import reading, transaction
from puhui.securities import instruments, liquidity, models, orders
from puhui.securities.models import Band, Board, Exchange, Instrument, Side
from tests.identity.helpers import LI, WANG, ZHANG
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    assert_audit_clean,
    asset_history,
    at,
    client,
    deposit,
    investor,
    staff_sets,
)

PUFA = Instrument("600000", Exchange.sse, Board.main, "浦发银行", dt.date(1999, 11, 10))


def test_a_ladder_steps_away_from_the_reference_in_whole_lots_inside_the_band():
    quotes = liquidity.ladder(PUFA, 1_050, Band(945, 1_155))
    assert [(q.side.value, q.price) for q in quotes] == [
        ("buy", 1_049),
        ("sell", 1_051),
        ("buy", 1_048),
        ("sell", 1_052),
        ("buy", 1_047),
        ("sell", 1_053),
    ]
    # about 4,000 CNY a level: 10.49 × 100 = 1,049.00 a lot, 3 lots
    assert [q.quantity for q in quotes] == [300] * 6
    at_the_limit = liquidity.ladder(PUFA, 1_154, Band(945, 1_155))
    assert [q.price for q in at_the_limit if q.side is Side.sell] == [1_155]  # 11.56 and 11.57 are over it
    star = Instrument("688981", Exchange.sse, Board.star, "中芯国际", dt.date(2020, 7, 16))
    assert {q.quantity % 200 for q in liquidity.ladder(star, 11_000, Band(8_800, 13_200))} == {0}
    etf = Instrument("510300", Exchange.sse, Board.etf, "沪深300ETF", dt.date(2012, 5, 28))
    assert [q.price for q in liquidity.ladder(etf, 3_900, Band(3_510, 4_290))][:2] == [3_898, 3_902]


def open_orders(engine, customer: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return [o for o in orders.list_orders(connection, customer, 100) if o["status"] == "open"]


def test_the_provider_keeps_its_ladder_and_a_customer_trades_against_it(client, engine, clock):  # noqa: F811
    maker, _ = investor(client, engine, LI, 150_000_00)
    deposit(engine, maker, "600000", 50_000)
    buyer, _ = investor(client, engine, ZHANG, 50_000_00)
    at(clock, 10, 0)
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "600000")) == 6
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "600000")) == 0  # kept
    first = {o["id"] for o in open_orders(engine, maker)}

    take = orders.OrderRequest("600000", Side.buy, 300, 1_051)
    filled = transaction(engine, lambda uow: orders.place(uow, buyer, take, "take-1"))
    assert (filled["status"], filled["filled"], filled["price"]) == ("filled", 300, "10.51")
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "600000")) == 0  # 10.51: one step
    sweep = orders.OrderRequest("600000", Side.buy, 600, 1_053)
    transaction(engine, lambda uow: orders.place(uow, buyer, sweep, "take-2"))  # to 10.53: three steps
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "600000")) == 6
    now = open_orders(engine, maker)
    assert not first & {o["id"] for o in now}  # the old ladder is cancelled, a new one rests
    assert sorted(o["price"] for o in now) == ["10.50", "10.51", "10.52", "10.54", "10.55", "10.56"]
    at(clock, 15, 30)  # the close: the day orders expire, and nothing is placed until the next session
    transaction(engine, orders.advance)
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "600000")) == 0
    assert open_orders(engine, maker) == []
    assert_audit_clean(engine)


def test_the_market_loop_quotes_for_designated_providers_only(client, engine, clock):  # noqa: F811
    customer, _ = investor(client, engine, ZHANG, 50_000_00)
    maker, _ = investor(client, engine, LI, 150_000_00)  # no ChiNext/STAR permission: it bids on neither
    deposit(engine, maker, "510300", 100_000)
    at(clock, 10, 0)
    assert liquidity.make_markets(engine) == 0  # no provider yet: nothing placed for anyone
    assert open_orders(engine, maker) == [] == open_orders(engine, customer)
    transaction(engine, lambda uow: liquidity.designate(uow, maker))
    with reading(engine) as connection:
        assert liquidity.providers(connection) == [maker]
    placed = liquidity.make_markets(engine)
    quoted = open_orders(engine, maker)
    assert placed == len(quoted) > 0 and open_orders(engine, customer) == []
    assert {o["code"] for o in quoted if o["side"] == "sell"} == {"510300"}  # offers only what it holds
    bids = {o["code"] for o in quoted if o["side"] == "buy"}
    assert bids and not bids & {"300750", "688981"}  # no ChiNext/STAR permission: no bids there
    assert liquidity.make_markets(engine) == 0
    assert_audit_clean(engine)


def test_the_provider_bids_on_a_growth_board_only_once_staff_granted_it(client, engine, clock):  # noqa: F811
    maker, _ = investor(client, engine, LI, 150_000_00)  # enough for ChiNext's 100,000 CNY
    asset_history(engine, maker)  # held for the 20 trading days before today: the average the grant reads
    at(clock, 10, 0)
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "300750")) == 0  # no shares, no permission
    assert open_orders(engine, maker) == []
    assert staff_sets(client, maker, "permissions", {"board": "chinext", "permitted": True}).status_code == 200
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "300750")) == 3
    assert [(o["side"], o["quantity"]) for o in open_orders(engine, maker)] == [("buy", 100)] * 3
    assert_audit_clean(engine)
