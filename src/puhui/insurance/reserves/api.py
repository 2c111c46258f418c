"""Reserve reports over HTTP (准备金与赔付率报表), read by operators and the regulator:
GET /v1/insurance/reserves, /v1/insurance/reports/ratios and /v1/insurance/reports/claims-ageing,
each for an insurer and a business date."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from puhui.api.deps import EngineDep, Principal, require_roles
from puhui.api.fields import ID_PATTERN, DayQuery
from puhui.api.reads import read as _read
from puhui.eod.dates import parse_date
from puhui.insurance.reserves import service
from puhui.insurance.reserves.schemas import ClaimsAgeing, Ratios, Reserves

router = APIRouter(prefix="/v1/insurance", tags=["insurance"])

Reader = Annotated[Principal, Depends(require_roles("operator", "regulator", "admin"))]
InsurerQuery = Annotated[
    str, Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="the insurer's partner id")
]


@router.get(
    "/reserves",
    summary="An insurer's reserves at the end of a date, by line of business and in total (准备金)",
    response_model=Reserves,
)
async def reserves(insurer: InsurerQuery, date: DayQuery, engine: EngineDep, principal: Reader) -> dict[str, Any]:
    day = parse_date(date)
    return await _read(engine, lambda c: Reserves.shape(service.reserves_json(c, insurer, day)))


@router.get(
    "/reports/ratios",
    summary="Loss and combined ratios by line of business and in total (赔付率, 综合成本率) at a date",
    response_model=Ratios,
)
async def ratios(insurer: InsurerQuery, date: DayQuery, engine: EngineDep, principal: Reader) -> dict[str, Any]:
    day = parse_date(date)
    return await _read(engine, lambda c: Ratios.shape(service.ratios_json(c, insurer, day)))


@router.get(
    "/reports/claims-ageing",
    summary="Open claims by days since reported (未决赔案账龄)",
    response_model=ClaimsAgeing,
)
async def claims_ageing(insurer: InsurerQuery, date: DayQuery, engine: EngineDep, principal: Reader) -> dict[str, Any]:
    day = parse_date(date)
    return await _read(engine, lambda c: ClaimsAgeing.shape(service.claims_ageing_json(c, insurer, day)))
