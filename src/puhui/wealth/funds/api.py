"""Fund distribution (基金代销) over HTTP under /v1/wealth: products, NAV history, orders, holdings.

Amounts and units are decimal strings; NAVs are decimal strings of up to 4 places. Customers order
and read only their own orders and holdings; staff create products, load NAV files and run the
funds' end of day. Every mutation goes through `run_mutation`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from puhui.api.deps import (
    Caller,
    Customer,
    EngineDep,
    Operator,
)
from puhui.api.fields import AmountOrZeroStr, AmountStr, ClientId, FundCode, UnitsStr
from puhui.api.mutations import Outcome, client_id_of, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.eod.requests import EodIn  # `business_date`; `date`, its former name, a deprecated alias
from puhui.errors import InvalidInput
from puhui.money import parse_minor
from puhui.money import parse_positive_minor as _positive
from puhui.wealth.funds import nav_files
from puhui.wealth.funds import orders as fo
from puhui.wealth.funds.nav_source import sandbox_navs
from puhui.wealth.funds.pricing import FeeTier, RedemptionFeeStep
from puhui.wealth.funds.schemas import FundHolding, FundNav, FundOrder, FundProduct, FundsEodRun, NavLoad

router = APIRouter(prefix="/v1/wealth", tags=["funds"])

RATE_PATTERN = r"^(-0(\.0+)?|0(\.[0-9]+)?)$"  # "-0" is zero too
SHARE_PATTERN = r"^(-0(\.0+)?|0(\.[0-9]+)?|1(\.0+)?)$"
RateStr = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=16,
        description='a fee rate from 0 to below 1, e.g. "0.015"',
        json_schema_extra={"pattern": RATE_PATTERN},
    ),
]
ShareStr = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=16,
        description='a share from 0 to 1, e.g. "0.25"',
        json_schema_extra={"pattern": SHARE_PATTERN},
    ),
]


def _rate(value: str, pattern: str = RATE_PATTERN) -> Decimal:
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"{value!r} is not a decimal rate") from None
    if not rate.is_finite() or not re.match(pattern, value):
        raise InvalidInput(f"{value!r} is not a rate in range")
    return rate


class FeeTierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_amount: AmountOrZeroStr
    rate: RateStr = "0"
    fixed: AmountOrZeroStr | None = None


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    under_days: int | None = Field(None, ge=1, le=100_000)
    rate: RateStr
    to_fund_share: ShareStr = "0.25"


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[StrictStr, Field(min_length=1, max_length=8, pattern=r"^[A-Z0-9]+$")]
    name: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    risk: Annotated[StrictStr, Field(pattern=r"^R[1-5]$")]
    fee_tiers: list[FeeTierIn] = Field(min_length=1, max_length=10)
    redemption_fees: list[StepIn] = Field(
        default_factory=list,
        max_length=10,
        description="赎回费率 by holding period. Whatever it says, a holding under 7 days pays at least 1.5%, all of "
        "it to the fund (CSRC): a band lying wholly under 7 days (`under_days` at most 7) must say so, a `rate` of "
        'at least 0.015 and `to_fund_share` "1", else 422 `short_holding_fee_invalid`',
    )
    redemption_days: int = Field(ge=1, le=10)
    status: Annotated[StrictStr, Field(pattern=r"^(open|closed)$")] = "open"


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Annotated[StrictStr, Field(pattern=r"^(open|closed)$")]


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr
    client_order_id: ClientId | None = None


class FundRedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units: UnitsStr
    client_order_id: ClientId | None = None


class NavFileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csv: Annotated[StrictStr, Field(min_length=1, max_length=5_000_000, description="date,fund_code,nav")]


@router.get(
    "/fund-products",
    summary="The distributed (non-money-market) funds with their latest NAV",
    response_model=list[FundProduct],
)
async def list_products(engine: EngineDep, principal: Caller) -> list[dict]:
    return await _read(engine, lambda c: [fo.product_json(c, p) for p in fo.list_products(c)])


@router.get("/fund-products/{code}", summary="One distributed fund", response_model=FundProduct)
async def read_product(code: FundCode, engine: EngineDep, principal: Caller) -> dict:
    return await _read(engine, lambda c: fo.product_json(c, fo.get_product(c, code)))


@router.get("/fund-products/{code}/navs", summary="NAV history (基金净值), newest first", response_model=list[FundNav])
async def read_navs(
    code: FundCode, engine: EngineDep, principal: Caller, limit: Annotated[int, Query(ge=1, le=2000)] = 250
) -> list[dict]:
    def read(connection) -> list[dict]:
        fo.get_product(connection, code)
        return fo.navs_of(connection, code, limit)

    return await _read(engine, read)


@router.post("/fund-products", status_code=201, summary="Create a distributed fund (staff)", response_model=FundProduct)
async def create_product(body: ProductIn, request: Request, engine: EngineDep, principal: Operator):
    tiers = [
        FeeTier(parse_minor(t.min_amount, 2), _rate(t.rate), None if t.fixed is None else parse_minor(t.fixed, 2))
        for t in body.fee_tiers
    ]
    steps = [
        RedemptionFeeStep(s.under_days, _rate(s.rate), _rate(s.to_fund_share, SHARE_PATTERN))
        for s in body.redemption_fees
    ]

    def work(uow: UnitOfWork) -> Outcome:
        row = fo.create_product(
            uow, body.code, body.name, int(body.risk[1]), tiers, steps, body.redemption_days, body.status
        )
        return Outcome(201, FundProduct.shape(fo.product_json(uow.connection, row)))

    return await run_mutation(request, engine, principal, "wealth.fund_product", body.code, work)


@router.post(
    "/fund-products/{code}/status", summary="Open or close a distributed fund (staff)", response_model=FundProduct
)
async def set_status(code: FundCode, body: StatusIn, request: Request, engine: EngineDep, principal: Operator):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, FundProduct.shape(fo.product_json(uow.connection, fo.set_status(uow, code, body.status))))

    return await run_mutation(request, engine, principal, "wealth.fund_status", code, work)


@router.post(
    "/fund-products/{code}/purchases",
    status_code=201,
    summary="Purchase (申购) from the wallet",
    response_model=FundOrder,
)
async def purchase(code: FundCode, body: PurchaseIn, request: Request, engine: EngineDep, principal: Customer):
    amount = _positive(body.amount, "amount")
    client_id = client_id_of(request, body.client_order_id)

    def work(uow: UnitOfWork) -> Outcome:
        row, created = fo.purchase(uow, principal.id, code, amount, client_id)
        return Outcome(201 if created else 200, FundOrder.shape(fo.order_json(row)))

    return await run_mutation(request, engine, principal, "wealth.fund_purchase", code, work)


@router.post(
    "/fund-products/{code}/redemptions",
    status_code=201,
    summary="Redeem (赎回): cash on T+N",
    response_model=FundOrder,
)
async def redeem(code: FundCode, body: FundRedeemIn, request: Request, engine: EngineDep, principal: Customer):
    units = _positive(body.units, "units")
    client_id = client_id_of(request, body.client_order_id)

    def work(uow: UnitOfWork) -> Outcome:
        row, created = fo.redeem(uow, principal.id, code, units, client_id)
        return Outcome(201 if created else 200, FundOrder.shape(fo.order_json(row)))

    return await run_mutation(request, engine, principal, "wealth.fund_redeem", code, work)


@router.get("/fund-orders", summary="The caller's fund orders, newest first", response_model=list[FundOrder])
async def my_orders(engine: EngineDep, principal: Customer) -> list[dict]:
    return await _read(engine, lambda c: [fo.order_json(o) for o in fo.orders_of(c, principal.id)])


@router.get("/fund-holdings", summary="The caller's fund holdings at the latest NAV", response_model=list[FundHolding])
async def my_holdings(engine: EngineDep, principal: Customer) -> list[dict]:
    return await _read(engine, lambda c: fo.holdings_of(c, principal.id))


@router.post("/navs", summary="Load a NAV file (staff): date,fund_code,nav — all rows or none", response_model=NavLoad)
async def load_navs(body: NavFileIn, request: Request, engine: EngineDep, principal: Operator):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, NavLoad.shape(nav_files.load_navs(uow, body.csv)))

    return await run_mutation(request, engine, principal, "wealth.load_navs", None, work)


@router.post(
    "/funds-eod",
    summary="Run the distributed funds' end of day for a date (staff)",
    description="The date must be over (before today's business date) and not before the last date run; days "
    "skipped since the last run run first, one by one (`caught_up`).",
    response_model=FundsEodRun,
)
async def run_eod(body: EodIn, request: Request, engine: EngineDep, principal: Operator):
    navs = sandbox_navs(request.app.state.settings)  # the sandbox's managers publish NAVs; never in production

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, FundsEodRun.shape(fo.funds_eod_in(uow, body.business_date, navs)))

    return await run_mutation(request, engine, principal, "wealth.funds_eod", body.business_date.isoformat(), work)
