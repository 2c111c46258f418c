"""The money-market fund HTTP API under /v1/wealth: funds, daily figures, orders, holdings, statements.

Amounts and units are decimal strings (NAV 1.00: 1 CNY = 1 unit). Customers order and read only
their own holdings; staff run the end of day. Every mutation goes through `run_mutation`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from puhui import clock
from puhui.api.deps import (
    Caller,
    Customer,
    EngineDep,
    Operator,
    SettingsDep,
)
from puhui.api.fields import DAY_PATTERN, AmountOrZeroStr, AmountStr, ClientId, FundCode, UnitsStr
from puhui.api.mutations import Outcome, client_id_of, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.eod.dates import parse_date
from puhui.eod.requests import EodIn  # `business_date`; `date`, its former name, a deprecated alias
from puhui.money import format_minor, parse_minor
from puhui.money import parse_positive_minor as _positive
from puhui.payments.models import VerificationStrength
from puhui.payments.verification import PaymentPassword, proven
from puhui.wealth import units as funds
from puhui.wealth.errors import StatementRangeInvalid
from puhui.wealth.mmf import eod, statement
from puhui.wealth.mmf import service as mmf
from puhui.wealth.mmf.schemas import (
    DailyYield,
    FiguresLoad,
    FundPayment,
    Holding,
    MmfEodRun,
    MmfFund,
    MmfFundDetail,
    MmfOrder,
    Statement,
    Sweep,
)
from puhui.wealth.mmf.tables import mmf_daily

DAY_SCHEMA = {"pattern": DAY_PATTERN, "format": "date"}  # documented; the service answers `date_invalid`

router = APIRouter(prefix="/v1/wealth", tags=["money-market fund"])


def _date(value: str | None, default: dt.date) -> dt.date:
    return default if value is None else parse_date(value)


class SubscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr
    client_order_id: ClientId | None = None


class SweepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep: AmountOrZeroStr = Field("0.00", description="what stays in the wallet; the rest is subscribed")
    client_order_id: ClientId | None = None


class MmfRedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units: UnitsStr
    fast: bool = Field(False, description="T+0 to the wallet (capped at 10,000 CNY a day) instead of T+1")
    client_order_id: ClientId | None = None


class FundPayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    qr_code_id: ClientId
    amount: AmountStr | None = None
    verification: VerificationStrength = VerificationStrength.one_factor
    password: PaymentPassword | None = None
    client_payment_id: ClientId | None = None


class FiguresIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csv: Annotated[
        StrictStr,
        Field(min_length=1, max_length=1_000_000, description="the manager's file: fund_code,date,income_per_10k"),
    ]


@router.get("/funds", summary="The money-market funds on the platform", response_model=list[MmfFund])
async def list_funds(engine: EngineDep, principal: Caller) -> list[dict]:
    return await _read(engine, lambda c: [funds.fund_json(f) for f in funds.list_funds(c)])


@router.get("/funds/{code}", summary="One fund with its latest 万份收益 and 七日年化", response_model=MmfFundDetail)
async def read_fund(code: FundCode, engine: EngineDep, principal: Caller) -> dict:
    def read(connection) -> dict:
        fund = funds.fund_json(funds.get_fund(connection, code))
        latest = _yields(connection, code, 1)
        return {**fund, "latest": latest[0] if latest else None}

    return await _read(engine, read)


def _yields(connection, code: str, limit: int) -> list[dict]:
    rows = connection.execute(
        select(mmf_daily).where(mmf_daily.c.fund_code == code).order_by(mmf_daily.c.business_date.desc()).limit(limit)
    ).mappings()
    return [
        {
            "date": r["business_date"],
            "income_per_10k": format_minor(r["income_per_10k"], 4),
            "seven_day_yield": r["seven_day_yield"],
            "distributed": r["distributed_at"] is not None,
        }
        for r in rows
    ]


@router.get(
    "/funds/{code}/yields",
    summary="History of 万份收益 and 七日年化收益率 (%), newest first",
    response_model=list[DailyYield],
)
async def read_yields(
    code: FundCode, engine: EngineDep, principal: Caller, limit: Annotated[int, Query(ge=1, le=366)] = 30
) -> list[dict]:
    def read(connection) -> list[dict]:
        funds.get_fund(connection, code)
        return _yields(connection, code, limit)

    return await _read(engine, read)


@router.post(
    "/funds/{code}/subscriptions", status_code=201, summary="Subscribe (申购) from the wallet", response_model=MmfOrder
)
async def subscribe(code: FundCode, body: SubscribeIn, request: Request, engine: EngineDep, principal: Customer):
    amount = _positive(body.amount, "amount")
    client_id = client_id_of(request, body.client_order_id)

    def work(uow: UnitOfWork) -> Outcome:
        row, created = mmf.subscribe(uow, principal.id, code, amount, client_id)
        return Outcome(201 if created else 200, MmfOrder.shape(mmf.order_json(row)))

    return await run_mutation(request, engine, principal, "wealth.subscribe", code, work)


@router.post(
    "/funds/{code}/sweep",
    summary="Auto-sweep (自动转入): subscribe the wallet balance above `keep`",
    response_model=Sweep,
)
async def sweep(code: FundCode, body: SweepIn, request: Request, engine: EngineDep, principal: Customer):
    keep = parse_minor(body.keep, 2)
    client_id = client_id_of(request, body.client_order_id)

    def work(uow: UnitOfWork) -> Outcome:
        row, created = mmf.sweep(uow, principal.id, code, keep, client_id)
        return Outcome(201 if created else 200, Sweep.shape({"order": mmf.order_json(row) if row else None}))

    return await run_mutation(request, engine, principal, "wealth.sweep", code, work)


@router.post(
    "/funds/{code}/redemptions", status_code=201, summary="Redeem (赎回): T+1, or fast T+0", response_model=MmfOrder
)
async def redeem(code: FundCode, body: MmfRedeemIn, request: Request, engine: EngineDep, principal: Customer):
    units = _positive(body.units, "units")
    client_id = client_id_of(request, body.client_order_id)

    def work(uow: UnitOfWork) -> Outcome:
        row, created = mmf.redeem(uow, principal.id, code, units, client_id, fast=body.fast)
        return Outcome(201 if created else 200, MmfOrder.shape(mmf.order_json(row)))

    return await run_mutation(request, engine, principal, "wealth.redeem", code, work)


@router.post(
    "/funds/{code}/payments",
    status_code=201,
    summary="Pay a merchant QR code from the fund balance",
    response_model=FundPayment,
    responses={202: {"model": FundPayment, "description": "The payment is held for a manual review"}},
)
async def pay(
    code: FundCode, body: FundPayIn, request: Request, engine: EngineDep, settings: SettingsDep, principal: Customer
):
    amount = _positive(body.amount, "amount") if body.amount is not None else None
    client_id = client_id_of(request, body.client_payment_id)
    strength = await run_in_threadpool(proven, engine, principal.id, body.verification, body.password)

    def work(uow: UnitOfWork) -> Outcome:
        from puhui.payments import reviews
        from puhui.payments import service as payments

        order, payment, created = mmf.pay_from_fund(
            uow, principal.id, code, body.qr_code_id, amount, strength, client_id, settings.merchant_fee_bp
        )
        held = payments.is_review(payment)  # held for review (人工审核): the money waits in the wallet
        shown = reviews.review_for_payer(payment) if held else payments.payment_view(payment)
        return Outcome(
            (202 if held else 201) if created else 200,
            FundPayment.shape({"order": mmf.order_json(order), "payment": shown}),
        )

    return await run_mutation(request, engine, principal, "wealth.pay", body.qr_code_id, work)


@router.get("/orders", summary="The caller's fund orders, newest first", response_model=list[MmfOrder])
async def my_orders(engine: EngineDep, principal: Customer) -> list[dict]:
    return await _read(engine, lambda c: [mmf.order_json(o) for o in mmf.orders_of(c, principal.id)])


@router.get(
    "/holdings", summary="The caller's holdings: units, value, last and total income", response_model=list[Holding]
)
async def my_holdings(engine: EngineDep, principal: Customer) -> list[dict]:
    return await _read(engine, lambda c: [statement.holding(c, f["code"], principal.id) for f in funds.list_funds(c)])


@router.get(
    "/funds/{code}/statement", summary="The caller's holding statement (对账单) for a period", response_model=Statement
)
async def my_statement(
    code: FundCode,
    engine: EngineDep,
    principal: Customer,
    start: Annotated[str | None, Query(alias="from", json_schema_extra=DAY_SCHEMA)] = None,
    end: Annotated[str | None, Query(alias="to", json_schema_extra=DAY_SCHEMA)] = None,
) -> dict:
    today = clock.business_date()
    first, last = _date(start, today.replace(day=1)), _date(end, today)
    if first > last:
        raise StatementRangeInvalid("from must not be after to")
    return await _read(engine, lambda c: statement.statement(c, code, principal.id, first, last))


@router.post(
    "/figures", summary="Load the fund manager's 万份收益 file (staff): all rows or none", response_model=FiguresLoad
)
async def load_figures(body: FiguresIn, request: Request, engine: EngineDep, principal: Operator):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, FiguresLoad.shape({"loaded": eod.load_figures(uow, body.csv)}))

    return await run_mutation(request, engine, principal, "wealth.load_figures", None, work)


@router.post(
    "/eod",
    summary="Run the money-market end of day for a date (staff)",
    description="The date must be over (before today's business date) and not before the last date run; days "
    "skipped since the last run run first, one by one (`runs` lists every fund-day).",
    response_model=MmfEodRun,
)
async def run_eod(body: EodIn, request: Request, engine: EngineDep, principal: Operator):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, MmfEodRun.shape({"runs": eod.runs_json(eod.run_eod_in(uow, body.business_date))}))

    return await run_mutation(request, engine, principal, "wealth.eod", body.business_date.isoformat(), work)
