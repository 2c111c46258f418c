"""Clearing over HTTP (清算交收) under /v1/securities: a customer's daily statement (交割单), the broker's
clearing file for operators, and the day's clearing and settlement run."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Path, Request, Response

from puhui.api.deps import Customer, EngineDep, Operator
from puhui.api.files import CsvFile
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.eod.dates import PATTERN, BusinessDate, check_date, parse_date
from puhui.eod.requests import EodIn, business_date_field
from puhui.securities import clearing
from puhui.securities.schemas import SecuritiesClearingRun, TradeStatement

router = APIRouter(prefix="/v1/securities", tags=["securities"])
TradeDay = Annotated[
    str, Path(pattern=PATTERN, json_schema_extra={"format": "date"}, description="a trading day YYYY-MM-DD")
]


class ClearIn(EodIn):
    """The trading day to clear and settle (`business_date`; `trade_day`, its former name, a deprecated alias)."""

    FORMER: ClassVar[str] = "trade_day"
    business_date: BusinessDate = business_date_field("trade_day")


@router.get("/statements/{date}", summary="The customer's daily statement (交割单)", response_model=TradeStatement)
async def read_statement(date: TradeDay, engine: EngineDep, principal: Customer) -> dict[str, Any]:
    day = check_date(parse_date(date))  # a day not yet come has no statement: business_date_in_future
    return await _read(engine, lambda c: clearing.statement_json(c, principal.id, day))


@router.get(
    "/clearing/{date}",
    response_class=CsvFile,
    summary="The broker's clearing file of a trading day (清算文件, CSV)",
)
async def read_clearing_file(date: TradeDay, engine: EngineDep, principal: Operator) -> CsvFile:
    day = check_date(parse_date(date))  # a day not yet come has no statement: business_date_in_future
    text = await _read(engine, lambda c: clearing.clearing_file(c, day))
    return CsvFile(text)


@router.post(
    "/clearing",
    summary="Clear and settle a trading day after its close (清算交收): its levies paid on; again moves nothing",
    response_model=SecuritiesClearingRun,
)
async def clear(body: ClearIn, request: Request, engine: EngineDep, principal: Operator) -> Response:
    day = body.business_date

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, SecuritiesClearingRun.shape(clearing.clear_in(uow, day)))

    return await run_mutation(request, engine, principal, "securities.clear", day.isoformat(), work)
