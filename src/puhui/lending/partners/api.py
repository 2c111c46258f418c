"""Funding partners over HTTP under /v1/lending/partners (联合贷款 / 助贷): operators register a
partner and assign it products; the partner (its API key) and staff read its balances and its
daily file. A partner sees only itself (another partner's file is 403)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from puhui.api.deps import (
    Caller,
    EngineDep,
    Operator,
)
from puhui.api.fields import AmountStr, Ident
from puhui.api.files import CsvFile
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.lending.partners import service as partners
from puhui.lending.partners.schemas import FundingPartner, ProductFunding
from puhui.money import parse_minor

router = APIRouter(prefix="/v1/lending", tags=["lending"])


class LendingPartnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partner_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]


class FundingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_code: Annotated[StrictStr, Field(min_length=1, max_length=48)]
    service_fee_rate: Annotated[
        StrictStr,
        Field(
            max_length=16,
            description='the platform\'s share of the interest as a fraction from 0 to 1, e.g. "0.3"',
            json_schema_extra={"pattern": r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$"},
        ),
    ] = "0"


class PayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr


def _rate(value: str) -> Decimal:
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise partners.FundingInvalid(f"service_fee_rate {value!r} is not a decimal") from None
    if not rate.is_finite():
        raise partners.FundingInvalid("service_fee_rate must be a finite decimal")
    return rate


@router.post(
    "/partners",
    status_code=201,
    summary="Make a registered partner a funding partner (its accounts)",
    response_model=FundingPartner,
)
async def register(body: LendingPartnerIn, request: Request, engine: EngineDep, principal: Operator):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, FundingPartner.shape(partners.register(uow, body.partner_id)))

    return await run_mutation(request, engine, principal, "lending.register_partner", body.partner_id, work)


@router.post(
    "/partners/{partner_id}/products",
    status_code=201,
    summary="The partner funds a joint-lending or facilitation product",
    response_model=ProductFunding,
)
async def fund_product(partner_id: Ident, body: FundingIn, request: Request, engine: EngineDep, principal: Operator):
    rate = _rate(body.service_fee_rate)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, ProductFunding.shape(partners.fund_product(uow, body.product_code, partner_id, rate)))

    return await run_mutation(request, engine, principal, "lending.fund_product", partner_id, work)


@router.post(
    "/partners/{partner_id}/payouts",
    status_code=201,
    summary="Pay the partner what was collected for it",
    response_model=FundingPartner,
)
async def payout(partner_id: Ident, body: PayoutIn, request: Request, engine: EngineDep, principal: Operator):
    amount = parse_minor(body.amount, 2)
    if amount <= 0:
        raise InvalidInput("amount must be greater than zero")
    key = request.headers.get("Idempotency-Key", "")[:40]

    def work(uow: UnitOfWork) -> Outcome:
        paid = partners.pay_partner(uow, partner_id, amount, f"ptn.pay.{partner_id}.{key}"[:64])
        return Outcome(201, FundingPartner.shape(paid))

    return await run_mutation(request, engine, principal, "lending.pay_partner", partner_id, work)


@router.get(
    "/partners/{partner_id}",
    summary="A funding partner's balances: outstanding funding and payable",
    response_model=FundingPartner,
)
async def read_partner(partner_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    partners.may_read(principal, partner_id)
    return await _read(engine, lambda c: partners.partner_json(c, partner_id))


@router.get(
    "/partners/{partner_id}/files/{date}",
    response_class=CsvFile,
    summary="The partner's daily file (CSV): that day's disbursements, repayments and write-offs",
)
async def partner_file(partner_id: Ident, date: dt.date, engine: EngineDep, principal: Caller):
    partners.may_read(principal, partner_id)
    text = await _read(engine, lambda c: partners.partner_file(c, partner_id, date))
    return CsvFile(text)
