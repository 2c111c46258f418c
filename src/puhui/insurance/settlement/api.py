"""Insurer settlement over HTTP under /v1/insurance/insurers/{id} (保费结算), for operators: set and read
an insurer's terms, remit its held premiums through a date, and read its daily partner file (CSV)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from puhui.api.deps import EngineDep, Operator
from puhui.api.fields import AS_WHOLE_NUMBER, AmountOrZeroStr, AmountStr, Ident
from puhui.api.files import CsvFile
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.eod.dates import PATTERN as DATE_PATTERN
from puhui.eod.dates import BusinessDate, parse_date
from puhui.insurance.settlement import models, service
from puhui.insurance.settlement.schemas import ClaimsFunding, Remittance, SettlementTerms
from puhui.money import parse_minor

router = APIRouter(prefix="/v1/insurance/insurers", tags=["insurance"])

DatePath = Annotated[
    str,
    Path(pattern=DATE_PATTERN, json_schema_extra={"format": "date"}, description="a business date YYYY-MM-DD (营业日)"),
]


class MonthlyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["monthly"]
    value: Annotated[StrictInt, Field(ge=1, le=28, description="the day of the month (1-28)"), AS_WHOLE_NUMBER]


class EveryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["every"]
    value: Annotated[StrictInt, Field(ge=1, le=366, description="the days between remittances"), AS_WHOLE_NUMBER]


ScheduleIn = Annotated[MonthlyIn | EveryIn, Field(discriminator="kind")]


class TermsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    commission_rate: Annotated[StrictStr, Field(max_length=8, pattern=r"^(0|0\.[0-9]{1,6})$")]
    schedule: ScheduleIn
    bank_name: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
    bank_account: Annotated[StrictStr, Field(pattern=r"^[0-9]{8,32}$", description="shown masked")]
    claims_float: AmountOrZeroStr = Field(
        "0.00", description="kept back from every remittance for the claims paid on the insurer's behalf (理赔备付金)"
    )


class ClaimsFundingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr = Field(description="wired in by the insurer for the claims the platform pays (理赔备付金)")


class RemitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    through: BusinessDate


@router.put(
    "/{insurer_id}/terms", summary="Set the insurer's settlement terms (结算条款)", response_model=SettlementTerms
)
async def set_terms(
    insurer_id: Ident, body: TermsIn, request: Request, engine: EngineDep, principal: Operator
) -> Response:
    schedule = models.Schedule(body.schedule.kind, body.schedule.value)

    def work(uow: UnitOfWork) -> Outcome:
        terms = service.set_terms(
            uow,
            insurer_id,
            Decimal(body.commission_rate),
            schedule,
            body.bank_name,
            body.bank_account,
            parse_minor(body.claims_float, 2),
        )
        return Outcome(200, SettlementTerms.shape(terms))

    return await run_mutation(request, engine, principal, "insurance.set_settlement_terms", insurer_id, work)


@router.get("/{insurer_id}/terms", summary="The insurer's settlement terms", response_model=SettlementTerms)
async def read_terms(insurer_id: Ident, engine: EngineDep, principal: Operator) -> dict[str, Any]:
    return await _read(engine, lambda c: service.terms_json(c, insurer_id))


@router.post(
    "/{insurer_id}/remittances",
    status_code=201,
    summary="Remit the premiums held through a date, net of commission (保费划转); again moves nothing",
    response_model=Remittance,
)
async def remit(insurer_id: Ident, body: RemitIn, request: Request, engine: EngineDep, principal: Operator) -> Response:
    through = body.through

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, Remittance.shape(service.remit(uow, insurer_id, through)))

    return await run_mutation(request, engine, principal, "insurance.remit", insurer_id, work)


@router.post(
    "/{insurer_id}/funding",
    status_code=201,
    summary="The insurer funds the claims the platform pays on its behalf (理赔备付金): its bank → its held money",
    response_model=ClaimsFunding,
)
async def fund(
    insurer_id: Ident, body: ClaimsFundingIn, request: Request, engine: EngineDep, principal: Operator
) -> Response:
    amount = parse_minor(body.amount, 2)
    key = request.headers.get("Idempotency-Key", "")

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, ClaimsFunding.shape(service.fund(uow, insurer_id, amount, key)))

    return await run_mutation(request, engine, principal, "insurance.fund_claims", insurer_id, work)


@router.get("/{insurer_id}/remittances", summary="The insurer's remittances", response_model=list[Remittance])
async def remittances(insurer_id: Ident, engine: EngineDep, principal: Operator) -> list[dict[str, Any]]:
    return await _read(engine, lambda c: service.list_remittances(c, insurer_id))


@router.get(
    "/{insurer_id}/files/{date}",
    response_class=CsvFile,
    summary="The insurer's daily partner file (对账文件, CSV): premiums, refunds, claims, commission, remittances",
)
async def partner_file(insurer_id: Ident, date: DatePath, engine: EngineDep, principal: Operator) -> CsvFile:
    day: dt.date = parse_date(date)
    text = await _read(engine, lambda c: service.partner_file(c, insurer_id, day))
    return CsvFile(text)
