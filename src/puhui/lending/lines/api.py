"""Credit lines and pay-later checkout over HTTP, under /v1/lending.

- `POST /lines` — operators, risk officers and admins open a line for a customer (the limit and grade
  come from risk; without a platform model the operator's `limit` is used, see `lending.lines`).
- `GET /lines/{id}` and `GET /lines/{id}/draws` — the owner or staff; `GET /lines/me` — the caller's own.
- `POST /lines/{id}/limit`, `/freeze`, `/unfreeze` — operators, risk officers and admins.
- `POST /lines/{id}/draws` — the owner draws a loan to their wallet on a pay-later or instalment plan.
- `GET /plans?amount=` — every plan for an amount with its rate, fees and schedule (息费披露), to choose from.
- `POST /checkout/{qr_id}` — a customer pays a merchant's QR code later, from their line, in one call.

Another customer's line answers as one that does not exist (404 `credit_line_not_found`, the same detail
as an unknown id), read or drawn on.

Amounts are decimal strings in CNY; every mutation runs through `run_mutation`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui import clock
from puhui.api.deps import (
    Caller,
    Customer,
    EngineDep,
    Principal,
    SettingsDep,
    require_roles,
)
from puhui.api.fields import AmountStr, ClientId, Ident
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.reads import read as _reader
from puhui.db import UnitOfWork
from puhui.lending import catalog
from puhui.lending import service as lending
from puhui.lending.errors import LineNotFound
from puhui.lending.lines import checkout
from puhui.lending.lines import service as lines
from puhui.lending.lines.schemas import CreditDraw, CreditLine, CreditLineDraw, PayLaterCheckout, PlanOption
from puhui.money import parse_minor
from puhui.money import parse_positive_minor as _amount
from puhui.payments.models import VerificationStrength
from puhui.payments.risk_hook import PaymentContext
from puhui.payments.verification import PaymentPassword, proven

router = APIRouter(prefix="/v1/lending", tags=["lending"])

LineStaff = Annotated[Principal, Depends(require_roles("operator", "risk_officer", "admin"))]
Plan = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=32,
        description="pay_later (先享后付) or instalments (分期)",
        json_schema_extra={"enum": list(catalog.PLAN_PRODUCTS)},
    ),
]
_PERIODS = [p.periods for p in catalog.line_product(catalog.PLAN_PRODUCTS["instalments"]).instalment_plans]
Periods = Annotated[
    int,
    Field(
        ge=1,
        le=60,
        description=f"instalments only: {', '.join(map(str, _PERIODS[:-1]))} or {_PERIODS[-1]}",
        json_schema_extra={"enum": _PERIODS},
    ),
]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    annual_income: AmountStr | None = Field(
        None,
        description="the annual income the customer declares (申报年收入); left out, the income on file; with none "
        "on file the line is refused (422 `annual_income_required`)",
    )
    limit: AmountStr | None = Field(None, description="requested limit; required without a platform model")
    term_days: Annotated[int, Field(ge=1, le=1098)] = lines.DEFAULT_TERM_DAYS


class LimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: AmountStr


class DrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr
    plan: Plan = "pay_later"
    periods: Periods | None = None


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: Plan
    periods: Periods | None = None
    amount: AmountStr | None = Field(None, description="only for a static QR code")
    verification: VerificationStrength = VerificationStrength.one_factor
    password: PaymentPassword | None = None
    client_payment_id: ClientId | None = None
    device_id: ClientId | None = None
    location: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None


def _may_read(principal: Principal, owner: str, line_id: str) -> None:
    """Another customer's line answers as one that does not exist (the same 404 `credit_line_not_found`, the
    same detail, as for an unknown id), as another customer's loan does: its id tells nobody it exists."""
    if not principal.is_staff and principal.id != owner:
        raise LineNotFound(f"credit line {line_id} not found")


@router.post("/lines", status_code=201, summary="Open a credit line for a customer (staff)", response_model=CreditLine)
async def open_line(body: LineIn, request: Request, engine: EngineDep, principal: LineStaff):
    income = parse_minor(body.annual_income, 2) if body.annual_income is not None else None
    limit = _amount(body.limit) if body.limit is not None else None

    def work(uow: UnitOfWork) -> Outcome:
        lending.require_verified(uow.connection, body.customer_id)
        return Outcome(
            201,
            CreditLine.shape(
                lines.open_line(
                    uow, body.customer_id, principal.id, annual_income=income, limit=limit, term_days=body.term_days
                )
            ),
        )

    return await run_mutation(request, engine, principal, "lending.open_line", body.customer_id, work)


@router.get(
    "/plans",
    summary="The pay-later and instalment plans for an amount, disclosed before a checkout or draw",
    description="Every plan the credit line's products list (GET /v1/lending/products, `instalment_plans`), each "
    "with its `product_code` and `fee_rate_per_period` as listed there, quoted for the amount: the fee is the "
    "amount times the rate times the periods, rounded down to the fen, spread evenly; the annualized rate is the "
    "listed one, or lower by the fen rounding. A checkout or draw on the plan charges exactly this quote. An "
    "amount outside what the plans' products lend (their `min_amount` to `max_amount`) is a 422 "
    "`amount_out_of_range`, as a draw of it would be; the caller's own line is not read here: its limit is "
    "checked when the draw or checkout is made.",
    response_model=list[PlanOption],
)
async def plans(amount: Annotated[AmountStr, Query()], principal: Caller) -> list[dict]:
    return lines.plan_options(_amount(amount), clock.business_date())


@router.get("/lines/me", summary="The caller's own credit line", response_model=CreditLine)
async def my_line(engine: EngineDep, principal: Customer) -> dict:
    return await _reader(engine, lambda c: lines.get_line(c, lines.line_of(c, principal.id)))


@router.get(
    "/lines/{line_id}",
    summary="A credit line: limit, outstanding, available (owner or staff)",
    response_model=CreditLine,
)
async def read_line(line_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    def read(connection: Any) -> dict:
        line = lines.get_line(connection, line_id)
        _may_read(principal, line["customer_id"], line_id)
        return line

    return await _reader(engine, read)


@router.get(
    "/lines/{line_id}/draws",
    summary="The loans drawn on a credit line (owner or staff)",
    response_model=list[CreditLineDraw],
)
async def read_draws(line_id: Ident, engine: EngineDep, principal: Caller) -> list[dict]:
    def read(connection: Any) -> list[dict]:
        _may_read(principal, lines.line_row(connection, line_id)["customer_id"], line_id)
        return lines.draws_of(connection, line_id)

    return await _reader(engine, read)


@router.post("/lines/{line_id}/limit", summary="Change a line's limit (staff)", response_model=CreditLine)
async def change_limit(line_id: Ident, body: LimitIn, request: Request, engine: EngineDep, principal: LineStaff):
    limit = _amount(body.limit)
    return await run_mutation(
        request,
        engine,
        principal,
        "lending.change_line_limit",
        line_id,
        lambda uow: Outcome(200, CreditLine.shape(lines.change_limit(uow, line_id, limit))),
    )


async def _status(
    line_id: str, status: Literal["active", "frozen"], request: Request, engine: Engine, principal: Principal
):
    return await run_mutation(
        request,
        engine,
        principal,
        f"lending.line_{status}",
        line_id,
        lambda uow: Outcome(200, CreditLine.shape(lines.set_status(uow, line_id, status))),
    )


@router.post("/lines/{line_id}/freeze", summary="Freeze a line (staff)", response_model=CreditLine)
async def freeze(line_id: Ident, request: Request, engine: EngineDep, principal: LineStaff):
    return await _status(line_id, "frozen", request, engine, principal)


@router.post("/lines/{line_id}/unfreeze", summary="Unfreeze a line (staff)", response_model=CreditLine)
async def unfreeze(line_id: Ident, request: Request, engine: EngineDep, principal: LineStaff):
    return await _status(line_id, "active", request, engine, principal)


@router.post(
    "/lines/{line_id}/draws", status_code=201, summary="Draw a loan on the caller's line", response_model=CreditDraw
)
async def draw(line_id: Ident, body: DrawIn, request: Request, engine: EngineDep, principal: Customer):
    amount = _amount(body.amount)

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, CreditDraw.shape(lines.draw(uow, line_id, principal.id, amount, body.plan, body.periods)))

    return await run_mutation(request, engine, principal, "lending.line_draw", line_id, work)


@router.post(
    "/checkout/{qr_id}",
    status_code=201,
    summary="Pay a QR code later, from the caller's credit line",
    response_model=PayLaterCheckout,
    responses={200: {"model": PayLaterCheckout, "description": "The same client payment id again: the first checkout"}},
)
async def pay_later(
    qr_id: Ident, body: CheckoutIn, request: Request, engine: EngineDep, settings: SettingsDep, principal: Customer
):
    amount = _amount(body.amount) if body.amount is not None else None
    client_id = body.client_payment_id or request.headers.get("Idempotency-Key") or lines.service.new_id("co_")
    strength = await run_in_threadpool(proven, engine, principal.id, body.verification, body.password)

    def work(uow: UnitOfWork) -> Outcome:
        result, created = checkout.checkout(
            uow,
            principal.id,
            qr_id,
            body.plan,
            body.periods,
            strength,
            client_id,
            settings.merchant_fee_bp,
            amount,
            PaymentContext(body.device_id, body.location),
        )
        return Outcome(201 if created else 200, PayLaterCheckout.shape(result))

    return await run_mutation(request, engine, principal, "lending.checkout", qr_id, work)
