"""A new user's finding, on SQLite and PostgreSQL: the demo's funds 970002, 970003 and 970005 listed a redemption
fee band "under 7 days, 1.5%, `to_fund_share` 0.25", while a holding under 7 days pays at least 1.5%, all of it
into the fund (the CSRC rule, `pricing.redemption_rate`). The demo now states the band as it is charged, and a
fund whose schedule has a band lying wholly under 7 days that gives the fund less than all of its fee, or charges
less than 1.5%, is refused (422 `short_holding_fee_invalid`, field `redemption_fees`) and nothing is stored.
A band reaching past 7 days (e.g. "under 365 days") is still taken: its holdings under 7 days pay by the rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from puhui.db import reading
from puhui.demo import DEMO_FUNDS, DEMO_REDEMPTION_FEES
from puhui.wealth.errors import ShortHoldingFeeInvalid
from puhui.wealth.funds import orders as fo
from puhui.wealth.funds.pricing import SHORT_HOLDING_DAYS, FeeTier, RedemptionFeeStep, redemption_rate
from puhui.wealth.funds.tables import fund_products

from .mmf_world import World
from .test_fund_orders_http import ADMIN, PRODUCT, client, post, state

__all__ = ["client"]

TIERS = [FeeTier(100, Decimal("0.015"))]
REST = [RedemptionFeeStep(365, Decimal("0.005")), RedemptionFeeStep(None, Decimal(0))]


def _products(engine) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(fund_products)).scalar_one()


@pytest.mark.parametrize(
    "short",
    [
        [RedemptionFeeStep(7, Decimal("0.015"))],  # the dataclass's default share, 0.25
        [RedemptionFeeStep(7, Decimal("0.015"), Decimal("0.99"))],
        [RedemptionFeeStep(3, Decimal("0.015"), Decimal(0)), RedemptionFeeStep(7, Decimal("0.015"), Decimal(1))],
        [RedemptionFeeStep(3, Decimal("0.015"), Decimal(1)), RedemptionFeeStep(7, Decimal("0.015"), Decimal("0.5"))],
        [RedemptionFeeStep(7, Decimal("0.01"), Decimal(1))],  # below the 1.5% floor
    ],
)
def test_a_schedule_giving_the_fund_less_than_the_rule_is_refused(engine, clock, short):
    world = World(engine, clock)
    with pytest.raises(ShortHoldingFeeInvalid) as refused:
        world.run(lambda uow: fo.create_product(uow, "EQ0009", "短持有", 3, TIERS, [*REST, *short], 3))
    assert refused.value.code == "short_holding_fee_invalid" and refused.value.extra["field"] == "redemption_fees"
    assert "7 days" in refused.value.detail
    assert _products(engine) == 0


@pytest.mark.parametrize(
    "schedule",
    [
        [RedemptionFeeStep(7, Decimal("0.015"), Decimal(1)), *REST],
        [RedemptionFeeStep(3, Decimal("0.02"), Decimal(1)), RedemptionFeeStep(7, Decimal("0.015"), Decimal(1)), *REST],
        REST,  # no band of its own under 7 days: those holdings pay by the rule
        [],
    ],
)
def test_a_schedule_within_the_rule_is_taken(engine, clock, schedule):
    world = World(engine, clock)
    row = world.run(lambda uow: fo.create_product(uow, "EQ0009", "短持有", 3, TIERS, schedule, 3))
    assert fo.schedule_of(row) == schedule


def test_over_http_the_refusal_is_a_problem_and_changes_nothing(client, engine, clock):
    before = state(engine)
    short = {**PRODUCT, "redemption_fees": [{"under_days": 7, "rate": "0.015"}, {"rate": "0"}]}  # share left out
    refused = post(client, "/v1/wealth/fund-products", short, ADMIN)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "short_holding_fee_invalid" and refused.json()["field"] == "redemption_fees"
    assert state(engine) == before
    stated = {**PRODUCT, "redemption_fees": [{"under_days": 7, "rate": "0.015", "to_fund_share": "1"}, {"rate": "0"}]}
    assert post(client, "/v1/wealth/fund-products", stated, ADMIN).status_code == 201


def test_the_demo_funds_show_the_short_holding_band_as_it_is_charged(client, engine, clock):
    for code, name, risk, _, _ in DEMO_FUNDS:
        fund = {**PRODUCT, "code": code, "name": name, "risk": risk, "redemption_fees": DEMO_REDEMPTION_FEES}
        created = post(client, "/v1/wealth/fund-products", fund, ADMIN)
        assert created.status_code == 201, created.text
        shown = created.json()["redemption_fees"]
        schedule = [RedemptionFeeStep(s["under_days"], Decimal(s["rate"]), Decimal(s["to_fund_share"])) for s in shown]
        for days in range(SHORT_HOLDING_DAYS):
            band = next(s for s in shown if s["under_days"] is not None and days < s["under_days"])
            charged = redemption_rate(days, schedule)
            assert (Decimal(band["rate"]), Decimal(band["to_fund_share"])) == (charged.rate, charged.to_fund_share)
            assert charged.to_fund_share == 1
