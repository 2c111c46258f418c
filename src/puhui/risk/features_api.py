"""Customer profiles over HTTP: GET /v1/risk/profiles/{customer_id}?as_of=…

Staff read anyone's profile; a customer reads their own; everyone else gets 403 before anything is
looked up (so the answer never tells whether a customer exists). Money and ratios are decimal strings.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui import clock
from puhui.api.deps import Principal, authenticate, get_engine
from puhui.api.fields import Ident
from puhui.db import reading
from puhui.errors import Forbidden
from puhui.risk import features as F
from puhui.risk.errors import MalformedTime
from puhui.risk.profiles import profile_as_of
from puhui.risk.schemas import FeatureInfo, Profile

router = APIRouter(prefix="/v1/risk", tags=["risk"])

STAFF = frozenset({"operator", "risk_officer", "regulator", "admin"})


_DATE = r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
_ZONE = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
AS_OF_PATTERN = rf"^([0-9]{{1,16}}|{_DATE}|{_DATE}{_TIME}{_ZONE})$"
"""The forms of `as_of`: UTC microseconds, a date, or a time with its zone (its day must be on the calendar too)."""


def parse_as_of(value: str | None) -> int:
    """Now when absent; UTC microseconds when all digits; an ISO-8601 time with a zone; or a date,
    meaning the end of that business day in China (everything that happened that day counts).
    Any other form (`AS_OF_PATTERN`), or a day not on the calendar, is a `MalformedTime`."""
    if value is None:
        return clock.now_micros()
    if re.match(AS_OF_PATTERN, value) is None:
        raise MalformedTime(f"as_of {value!r} is not UTC microseconds, a date, or a time with its zone")
    try:
        if value.isdigit():
            at = int(value)
        elif len(value) == 10:  # the last microsecond of that China day
            at = clock.to_micros(clock.china_midnight(dt.date.fromisoformat(value))) + clock.DAY_MICROS - 1
        else:
            at = clock.to_micros(dt.datetime.fromisoformat(value))
        clock.from_micros(at)  # within the calendar
    except (ValueError, OverflowError):
        raise MalformedTime(f"as_of {value!r} is not a time") from None
    return at


def may_read(principal: Principal, customer_id: str) -> bool:
    return principal.role in STAFF or (principal.role == "customer" and principal.id == customer_id)


def profile_json(customer_id: str, at: int, features: dict[str, Any]) -> dict[str, Any]:
    return {"customer_id": customer_id, "as_of": clock.iso(at), "features": F.to_json(features)}


@router.get("/profiles/{customer_id}", response_model=Profile)
async def read_profile(
    customer_id: Ident,
    principal: Annotated[Principal, Depends(authenticate)],
    engine: Annotated[Engine, Depends(get_engine)],
    as_of: Annotated[
        str | None,
        Query(
            max_length=64,
            description="a date (the end of that day, China time), an ISO-8601 time with its zone, or UTC micros",
            examples=["2026-01-05", "2026-01-05T08:00:00+08:00"],
            json_schema_extra={"pattern": AS_OF_PATTERN},
        ),
    ] = None,
) -> dict[str, Any]:
    """The customer's profile (用户画像) as of a time (default now): only data up to that time counts."""
    if not may_read(principal, customer_id):
        raise Forbidden("a profile is for staff and for the customer it describes")
    at = parse_as_of(as_of)

    def work() -> dict[str, Any]:
        with reading(engine) as connection:
            return profile_json(customer_id, at, profile_as_of(connection, customer_id, at))

    return await run_in_threadpool(work)


@router.get("/features", response_model=list[FeatureInfo])
async def list_features(principal: Annotated[Principal, Depends(authenticate)]) -> list[dict[str, Any]]:
    """The feature registry: names, types and meanings (rules and models refer to these names)."""
    if principal.role not in STAFF:
        raise Forbidden("the feature registry is for staff")
    return [
        {"name": f.name, "kind": f.kind, "description": f.description, "term": f.term, "nullable": f.nullable}
        for f in F.FEATURES.values()
    ]
