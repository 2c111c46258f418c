"""Operations over HTTP: merchant terms, T+1 settlement (结算), reconciliation (对账) and the daily
reserve check (备付金). Operators and admins act; staff readers and the regulator read; a merchant
reads its own settlements.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui import clock
from puhui.api.deps import (
    Caller,
    EngineDep,
    Operator,
    Principal,
    SettingsDep,
    require_roles,
)
from puhui.api.fields import AS_WHOLE_NUMBER, DAY_PATTERN, DayQuery
from puhui.api.mutations import Outcome, replay, run_mutation
from puhui.db import UnitOfWork, reading
from puhui.eod.dates import BusinessDate, check_over, parse_date
from puhui.errors import Forbidden, InvalidInput
from puhui.identity import org
from puhui.identity.http import vault_of
from puhui.identity.schemas import FeeRateSet, Merchants, MerchantStatusSet
from puhui.money import format_minor
from puhui.payments import notifications, reconciliation, reserve, settlement
from puhui.payments.api import Ident, get_bank
from puhui.payments.bank import worker as bank_worker
from puhui.payments.schemas import (
    MerchantNotifications,
    NotifyUrlSet,
    ReconciliationException,
    ReconciliationExceptions,
    ReconciliationRun,
    ReserveCheck,
    ReserveChecks,
    SettlementRun,
    Settlements,
    SettlementsBetween,
)

router = APIRouter(prefix="/v1", tags=["operations"])

READERS = ("operator", "risk_officer", "regulator", "admin")
Reader = Annotated[Principal, Depends(require_roles(*READERS))]


def date_of(value: str) -> dt.date:
    return parse_date(value, "business_date")


def _money(row: dict, *fields: str) -> dict:
    """`row` with its amounts as decimal strings and its `*_at` microseconds as ISO 8601 times."""
    times = {k: clock.iso(v) for k, v in row.items() if k.endswith("_at") and isinstance(v, int)}
    return {**row, **{f: format_minor(row[f], 2) for f in fields if row.get(f) is not None}, **times}


# -- merchants -------------------------------------------------------------------------------------


class FeeRateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fee_rate_bp: Annotated[StrictInt, Field(ge=0, le=org.MAX_FEE_RATE_BP), AS_WHOLE_NUMBER] | None = Field(
        ..., description="basis points (38 = 0.38%); null = the platform default"
    )


class MerchantStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["active", "suspended"]
    reason: Annotated[str, Field(min_length=1, max_length=256)]


@router.put(
    "/merchants/{merchant_id}/fee-rate",
    tags=["merchants"],
    summary="Set a merchant's fee rate (商户费率)",
    response_model=FeeRateSet,
)
async def set_fee_rate(
    merchant_id: Ident,
    body: FeeRateIn,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: Operator,
):
    def work(uow: UnitOfWork) -> Outcome:
        done = org.set_fee_rate(uow, merchant_id, body.fee_rate_bp, principal)
        paid = org.effective_fee_rate(done["fee_rate_bp"], settings.merchant_fee_bp)
        return Outcome(200, FeeRateSet.shape({**done, "effective_fee_rate_bp": paid}))

    return await run_mutation(request, engine, principal, "merchants.set_fee_rate", merchant_id, work)


@router.put(
    "/merchants/{merchant_id}/status",
    tags=["merchants"],
    summary="Suspend or reactivate a merchant",
    response_model=MerchantStatusSet,
)
async def set_status(
    merchant_id: Ident, body: MerchantStatusIn, request: Request, engine: EngineDep, principal: Operator
):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, MerchantStatusSet.shape(org.set_merchant_status(uow, merchant_id, body.status, principal)))

    return await run_mutation(request, engine, principal, "merchants.set_status", merchant_id, work)


class NotifyUrlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(min_length=8, max_length=512)] | None = Field(
        ..., description="https URL for signed payment and refund notifications; null stops them"
    )


def _merchant_or_staff(principal: Principal, merchant_id: str, staff: tuple[str, ...]) -> None:
    if principal.role == "merchant" and principal.id == merchant_id:
        return
    if principal.role not in staff:
        raise Forbidden("a merchant manages only its own notifications")


@router.put(
    "/merchants/{merchant_id}/notify-url",
    tags=["merchants"],
    summary="Where the merchant receives signed payment notifications",
    response_model=NotifyUrlSet,
)
async def set_notify_url(merchant_id: Ident, body: NotifyUrlIn, request: Request, engine: EngineDep, principal: Caller):
    _merchant_or_staff(principal, merchant_id, ("operator", "admin"))

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, NotifyUrlSet.shape(notifications.set_notify_url(uow, merchant_id, body.url)))

    return await run_mutation(request, engine, principal, "merchants.set_notify_url", merchant_id, work)


@router.get(
    "/merchants/{merchant_id}/notifications",
    tags=["merchants"],
    summary="The merchant's notifications and their delivery (also a polling fallback)",
    response_model=MerchantNotifications,
)
async def list_notifications(
    merchant_id: Ident, engine: EngineDep, principal: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict:
    _merchant_or_staff(principal, merchant_id, READERS)

    def read() -> dict:
        with reading(engine) as connection:
            return {"notifications": notifications.notifications_of(connection, merchant_id, limit)}

    return await run_in_threadpool(read)


@router.get(
    "/merchants", tags=["merchants"], summary="Every merchant with status and fee rate", response_model=Merchants
)
async def list_merchants(engine: EngineDep, settings: SettingsDep, principal: Reader) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            return {"merchants": org.list_merchants(connection, settings.merchant_fee_bp)}

    return await run_in_threadpool(read)


# -- settlement ------------------------------------------------------------------------------------


class SettleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_date: BusinessDate


def _settled(day: dt.date, rows: list[dict]) -> dict:
    return {"business_date": day.isoformat(), "settlements": [settlement_json(r) for r in rows]}


def settlement_json(row: dict) -> dict:
    """`net` is what is paid out; `carried` what of it belongs to earlier dates (a failed payout paid
    again, or, negative, an earlier shortfall taken back). A row `settlement.explain` told about has its
    `failure_reason`, `retried_on` and `unpaid` too."""
    carried = row["net"] - (row["gross"] - row["fees"] - row["refunds"] + row["other_credits"])
    retry = row.get("retried_on")
    return {
        **_money(row, "gross", "fees", "refunds", "other_credits", "net", "unpaid"),
        "carried": _money({"c": carried}, "c")["c"],
        **({"retried_on": retry.isoformat()} if retry is not None else {}),
    }


@router.post(
    "/settlements",
    tags=["settlements"],
    summary="Settle every merchant for a business date (T+1)",
    response_model=SettlementRun,
)
async def settle(body: SettleIn, request: Request, engine: EngineDep, principal: Operator):
    if (done := await replay(request, engine, principal)) is not None:
        return done
    day = body.business_date
    vault, bank = vault_of(request), get_bank(request)
    # settling is idempotent per (merchant, date) by itself; the mutation records and audits the call
    done = await run_in_threadpool(lambda: settlement.settle_days(engine, bank, day, vault=vault))

    def work(uow: UnitOfWork) -> Outcome:
        told = partial(settlement.explain, uow.connection)
        caught_up = [_settled(date, told(rows)) for date, rows in done.caught_up]
        return Outcome(200, SettlementRun.shape({**_settled(day, told(done.result)), "caught_up": caught_up}))

    return await run_mutation(request, engine, principal, "settlements.run", day.isoformat(), work)


class SettlementQueryInvalid(InvalidInput):
    code = "settlement_query_invalid"
    title = "Settlements are read for one business_date, or for a range from and to (with a limit), not both"


RANGE_LIMIT = 500
"""The most settlements one range read answers (`limit`), the newest: a range over every merchant is long."""


def _day(description: str, alias: str | None = None) -> Any:
    """A business date in the query string, optional (the operation takes one form or the other)."""
    return Query(alias=alias, pattern=DAY_PATTERN, json_schema_extra={"format": "date"}, description=description)


@router.get(
    "/settlements",
    tags=["settlements"],
    summary="Settlements of a business date, or of a range of business dates (newest first)",
    description="Name either `business_date` (that date's settlements, by merchant) or `from` and `to` (the "
    f"settlements of every date between, both included, at most {settlement.MAX_RANGE_DAYS} dates: the newest "
    "date first, by merchant within a date, at most `limit` of them, the newest). A merchant reads its own only.",
    response_model=Settlements | SettlementsBetween,
)
async def list_settlements(
    engine: EngineDep,
    principal: Caller,
    business_date: Annotated[str | None, _day("one business date, YYYY-MM-DD (China Standard Time)")] = None,
    first: Annotated[str | None, _day("the range's first business date, YYYY-MM-DD", "from")] = None,
    last: Annotated[str | None, _day("the range's last business date, YYYY-MM-DD, included", "to")] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=RANGE_LIMIT,
            description=f"with `from` and `to`: the most settlements answered, the newest (default {RANGE_LIMIT})",
        ),
    ] = None,
    merchant_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict:
    merchant_id = _settlements_reader(principal, merchant_id)
    if business_date is not None and (first, last, limit) == (None, None, None):
        day = date_of(business_date)
        return await run_in_threadpool(_read_settlements, engine, day, day, merchant_id, None)
    if business_date is not None or first is None or last is None:
        raise SettlementQueryInvalid("name business_date, or both from and to (limit goes with them), not both forms")
    start, end = parse_date(first, "from"), parse_date(last, "to")
    settlement.check_range(start, end)  # refused before a connection is taken
    return await run_in_threadpool(_read_settlements, engine, start, end, merchant_id, limit or RANGE_LIMIT)


def _settlements_reader(principal: Principal, merchant_id: str | None) -> str | None:
    """The merchant whose settlements the caller reads: a merchant its own only; staff any, or every one (None)."""
    if principal.role == "merchant":
        if merchant_id not in (None, principal.id):
            raise Forbidden("a merchant reads only its own settlements")
        return principal.id
    if principal.role not in READERS:
        raise Forbidden("settlements are for staff and the merchant settled")
    return merchant_id


def _read_settlements(
    engine: Engine, first: dt.date, last: dt.date, merchant_id: str | None, limit: int | None
) -> dict:
    """One date's answer (`limit` None: all its rows) or a range's (`limit` rows at most, and whether that is
    all of the range's: one more is read to tell)."""
    with reading(engine) as connection:
        rows = settlement.settlements_between(
            connection, first, last, merchant_id=merchant_id, limit=None if limit is None else limit + 1
        )
        shown = settlement.explain(connection, rows[:limit])
    listed = [settlement_json(r) for r in shown]
    if limit is None:
        return {"business_date": first.isoformat(), "settlements": listed}
    return SettlementsBetween.shape(
        {"from": first.isoformat(), "to": last.isoformat(), "settlements": listed, "complete": len(rows) <= limit}
    )


# -- reconciliation --------------------------------------------------------------------------------


class ReconcileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business_date: BusinessDate


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["post_hold", "to_suspense", "reverse", "accept"]


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Ident


def _open_count(rows: list[dict]) -> int:
    return sum(1 for r in rows if r["status"] == "open")


def exception_json(row: dict) -> dict:
    return _money(row, "platform_amount", "bank_amount")


@router.post(
    "/reconciliation/runs",
    tags=["reconciliation"],
    summary="Reconcile a date against the bank's statement",
    response_model=ReconciliationRun,
)
async def reconcile(body: ReconcileIn, request: Request, engine: EngineDep, principal: Operator):
    if (done := await replay(request, engine, principal)) is not None:
        return done
    day, bank = check_over(body.business_date), get_bank(request)  # a day in progress: refused before the query
    # query, then match (先查询后对账): an order the bank has finished whose notice has not arrived yet is
    # finished first, as the sweeper would, so it is not reported missing on the platform's side
    await run_in_threadpool(lambda: bank_worker.sweep(engine, bank, after=dt.timedelta(0)))
    # T+1: the bank publishes a date's statement the next day; the dates of a gap are matched first
    done = await run_in_threadpool(lambda: reconciliation.reconcile_days(engine, day, bank.statement))

    def work(uow: UnitOfWork) -> Outcome:
        rows = done.result
        return Outcome(
            200,
            ReconciliationRun.shape(
                {
                    "business_date": day.isoformat(),
                    "exceptions": [exception_json(r) for r in rows],
                    "open": _open_count(rows),
                    "caught_up": [
                        {"business_date": date.isoformat(), "open": _open_count(found)}
                        for date, found in done.caught_up
                    ],
                }
            ),
        )

    return await run_mutation(request, engine, principal, "reconciliation.run", day.isoformat(), work)


@router.get(
    "/reconciliation/exceptions",
    tags=["reconciliation"],
    summary="Exceptions of a business date",
    response_model=ReconciliationExceptions,
)
async def list_exceptions(
    engine: EngineDep,
    principal: Reader,
    business_date: DayQuery,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
) -> dict:
    rows = await run_in_threadpool(reconciliation.exceptions_of, engine, date_of(business_date), status)
    return {"business_date": business_date, "exceptions": [exception_json(r) for r in rows]}


@router.post(
    "/reconciliation/exceptions/{exception_id}/resolve",
    tags=["reconciliation"],
    summary="Resolve an exception; any money moves through the ledger",
    response_model=ReconciliationException,
)
async def resolve(exception_id: Ident, body: ResolveIn, request: Request, engine: EngineDep, principal: Operator):
    if (done := await replay(request, engine, principal)) is not None:
        return done
    row = await run_in_threadpool(reconciliation.resolve_exception, engine, exception_id, body.action, principal.id)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, ReconciliationException.shape(exception_json(row)))

    return await run_mutation(request, engine, principal, "reconciliation.resolve", exception_id, work)


@router.post(
    "/reconciliation/exceptions/{exception_id}/assign",
    tags=["reconciliation"],
    summary="Hand suspense money to the customer it belongs to",
    response_model=ReconciliationException,
)
async def assign(exception_id: Ident, body: AssignIn, request: Request, engine: EngineDep, principal: Operator):
    if (done := await replay(request, engine, principal)) is not None:
        return done
    row = await run_in_threadpool(reconciliation.assign_suspense, engine, exception_id, body.customer_id, principal.id)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, ReconciliationException.shape(exception_json(row)))

    return await run_mutation(request, engine, principal, "reconciliation.assign", exception_id, work)


# -- reserve ---------------------------------------------------------------------------------------


@router.post(
    "/reserve-checks",
    tags=["reserve"],
    summary="Record today's reserve coverage check (备付金)",
    response_model=ReserveCheck,
)
async def check_reserve(request: Request, engine: EngineDep, principal: Operator):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, ReserveCheck.shape(reserve.record_check(uow, clock.business_date())))

    return await run_mutation(request, engine, principal, "reserve.check", None, work)


@router.get(
    "/reserve-checks", tags=["reserve"], summary="The recorded daily reserve checks", response_model=ReserveChecks
)
async def list_reserve_checks(
    engine: EngineDep, principal: Reader, limit: Annotated[int, Query(ge=1, le=366)] = 31
) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            return {"checks": reserve.checks(connection, limit)}

    return await run_in_threadpool(read)
