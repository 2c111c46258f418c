"""Reserve reports over HTTP (准备金与赔付率报表), read by operators and the regulator:
GET /v1/insurance/reserves, /v1/insurance/reports/ratios and /v1/insurance/reports/claims-ageing,
each for an insurer and a business date: `business_date`, the name of every end-of-day request and answer
(`date`, its former name, is a deprecated alias still accepted; one of the two, not both)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AliasChoices

from puhui.api.deps import EngineDep, Principal, require_roles
from puhui.api.fields import DAY_PATTERN, ID_PATTERN
from puhui.api.reads import read as _read
from puhui.eod.dates import parse_date
from puhui.insurance.reserves import service
from puhui.insurance.reserves.schemas import ClaimsAgeing, Ratios, Reserves

router = APIRouter(prefix="/v1/insurance", tags=["insurance"])

Reader = Annotated[Principal, Depends(require_roles("operator", "regulator", "admin"))]
InsurerQuery = Annotated[
    str, Query(min_length=1, max_length=64, pattern=ID_PATTERN, description="the insurer's partner id")
]
DATE_NAMES = ("business_date", "date")  # the name, then its former name: a deprecated alias still accepted


def business_date_of(
    request: Request,
    business_date: Annotated[
        str,
        Query(
            validation_alias=AliasChoices(*DATE_NAMES),
            pattern=DAY_PATTERN,
            json_schema_extra={"format": "date"},
            description="a business date YYYY-MM-DD (China Standard Time). `date`, its former name, is a deprecated "
            "alias still accepted: send `business_date` (one of the two, not both).",
        ),
    ],
) -> dt.date:
    """The report's date, named `business_date` or by its deprecated alias `date`: exactly one of them, else
    422 `invalid_request` as any request failing validation (a bad date: `date_invalid`, naming the name sent)."""
    sent = [name for name in DATE_NAMES if name in request.query_params]
    if len(sent) > 1:
        message = "send business_date alone: date is its deprecated alias, not a second date"
        raise RequestValidationError([{"type": "value_error", "loc": ("query", "date"), "msg": message}])
    return parse_date(business_date, sent[0])


BusinessDay = Annotated[dt.date, Depends(business_date_of)]  # after the caller's role: a stranger learns nothing


@router.get(
    "/reserves",
    summary="An insurer's reserves at the end of a date, by line of business and in total (准备金)",
    response_model=Reserves,
)
async def reserves(insurer: InsurerQuery, principal: Reader, day: BusinessDay, engine: EngineDep) -> dict[str, Any]:
    return await _read(engine, lambda c: Reserves.shape(service.reserves_json(c, insurer, day)))


@router.get(
    "/reports/ratios",
    summary="Loss and combined ratios by line of business and in total (赔付率, 综合成本率) at a date",
    response_model=Ratios,
)
async def ratios(insurer: InsurerQuery, principal: Reader, day: BusinessDay, engine: EngineDep) -> dict[str, Any]:
    return await _read(engine, lambda c: Ratios.shape(service.ratios_json(c, insurer, day)))


@router.get(
    "/reports/claims-ageing",
    summary="Open claims by days since reported (未决赔案账龄)",
    response_model=ClaimsAgeing,
)
async def claims_ageing(
    insurer: InsurerQuery, principal: Reader, day: BusinessDay, engine: EngineDep
) -> dict[str, Any]:
    return await _read(engine, lambda c: ClaimsAgeing.shape(service.claims_ageing_json(c, insurer, day)))
