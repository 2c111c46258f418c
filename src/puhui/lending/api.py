"""The lending HTTP API under /v1/lending: products, applications, offers with the price disclosure,
acceptance (disbursement), loans, schedules, repayments and statements.

Amounts are decimal strings in CNY. Every mutation runs through `run_mutation` (idempotent by
`Idempotency-Key`, audited). Operators and admins add products; customers apply, accept and repay
for themselves only; staff read every loan. Another customer's application, offer or loan answers as
one that does not exist, read or acted on (making an offer, accepting, repaying): the same 404 and
detail as an unknown id, and nothing changes. Naming another customer in the body (`customer_id`,
`from_customer_id`) is 403 `forbidden`, before any record is looked up.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import Engine

from puhui.api.deps import (
    Caller,
    Customer,
    EngineDep,
    Operator,
    Principal,
)
from puhui.api.fields import POSITIVE_AMOUNT, AmountStr, Ident
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.reads import read as _reader
from puhui.db import UnitOfWork
from puhui.eod.requests import EodIn  # `business_date`; `date`, its former name, a deprecated alias
from puhui.errors import Forbidden, PuhuiError
from puhui.lending import eod, repayments, service, statements
from puhui.lending import products as product_rules
from puhui.lending.errors import ApplicationNotFound, LoanNotFound, OfferNotFound
from puhui.lending.schemas import (
    Application,
    Instalment,
    LendingEodRun,
    Loan,
    LoanPayoff,
    LoanProduct,
    LoanStatement,
    Offer,
    Repayment,
)
from puhui.money import parse_positive_minor as _amount

router = APIRouter(prefix="/v1/lending", tags=["lending"])


def _self(principal: Principal, customer_id: str | None) -> None:
    if customer_id is not None and customer_id != principal.id:
        raise Forbidden("a customer acts only for themselves")


def _may_read(principal: Principal, owner: str, unseen: PuhuiError) -> None:
    """Another customer's application, offer or loan answers as one that does not exist (`unseen`, the
    same 404 as for an unknown id), so its id tells nobody that it exists."""
    if not principal.is_staff and principal.id != owner:
        raise unseen


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_code: Annotated[StrictStr, Field(min_length=1, max_length=48)]
    amount: AmountStr
    term: Annotated[int, Field(ge=1, le=360)]
    annual_income: AmountStr | None = Field(
        None,
        description="the annual income the customer declares (申报年收入): what they owe may be at most a third "
        "of it; left out, the income on file (the latest declared) is used, and with none on file the "
        "application is refused (422 `annual_income_required`)",
    )
    customer_id: Annotated[StrictStr, Field(max_length=64)] | None = Field(None, description="must be the caller")


class RepaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["scheduled", "early_full", "early_partial"] = "scheduled"
    amount: AmountStr | None = Field(None, description="default: all that is due (scheduled) or the payoff")
    from_customer_id: Annotated[StrictStr, Field(max_length=64)] | None = Field(
        None, description="the wallet paying; must be the caller's"
    )


# -- products --------------------------------------------------------------------------------------


@router.get(
    "/products",
    summary="Loan products: those applied for directly first, then those drawn only through a credit line",
    description="Products a customer applies for directly (`channel` direct: a cash loan through an "
    "application, an offer and its acceptance) come first, by code; then the credit line's own products "
    "(`channel` credit_line: pay later and instalments, used only at checkout or by a draw on the line, "
    "refused as an application with 422 `product_not_for_direct_application`), by code. `channel` keeps "
    "only one of them. A credit line's product lists its `instalment_plans`: each plan's periods, fee a period and "
    "annualized rate (年化利率), what GET /v1/lending/plans quotes and a checkout or draw charges.",
    response_model=list[LoanProduct],
)
async def products(
    engine: EngineDep,
    principal: Caller,
    channel: Annotated[
        Literal["direct", "credit_line"] | None,
        Query(description="only the products of this channel (default: all, direct first)"),
    ] = None,
) -> list[dict]:
    return await _reader(engine, lambda c: service.list_products(c, channel))


_FRACTION = {
    "type": ["string", "integer"],
    "minimum": 0,
    "maximum": 1,
    "pattern": r"^\s*(0?\.[0-9]{1,6}|0(\.[0-9]{0,6})?|1(\.0{0,6})?)\s*$",
}
_AMOUNT = {
    "type": "string",
    "pattern": POSITIVE_AMOUNT,
    "minLength": 1,
    "maxLength": 32,
    "description": 'an amount in CNY as a decimal string with at most two places, e.g. "1000.00"; a bare number '
    "is refused (422 `product_invalid`), never read as fen",
}
_TERM = {"type": "integer", "minimum": 1, "maximum": product_rules.MAX_TERM}
PRODUCT_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["code", "name", "min_amount", "max_amount", "min_term", "max_term", "method", "annual_rate"],
    "properties": {
        "code": {"type": "string", "minLength": 1, "maxLength": 100},
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "currency": {"type": "string", "enum": ["CNY"]},
        "min_amount": _AMOUNT,
        "max_amount": _AMOUNT,
        "min_term": _TERM | {"description": "months"},
        "max_term": _TERM,
        "method": {"type": "string", "enum": [m.value for m in product_rules.RepaymentMethod]},
        "grace_days": {"type": "integer", "minimum": 0, "maximum": product_rules.MAX_GRACE_DAYS},
        "interest_free_months": {"type": "integer", "minimum": 0, "maximum": product_rules.MAX_TERM},
        "allocation_order": {
            "type": "array",
            "items": {"type": "string", "enum": list(product_rules.ALLOCATION_PARTS)},
            "minItems": len(product_rules.ALLOCATION_PARTS),
            "maxItems": len(product_rules.ALLOCATION_PARTS),
            "uniqueItems": True,
            "description": "the order a repayment settles what is owed (还款冲销顺序)",
        },
        **{
            name: _FRACTION | {"description": "a rate from 0 to 1, at most 6 places"}
            for name in product_rules.RATE_FIELDS
        },
    },
    "description": "A loan product (贷款产品). Beyond the schema: min_amount ≤ max_amount, min_term ≤ max_term, "
    "the platform's share within policy (`product_invalid`); the annualized rate of every extreme offer and the "
    "penalty rate (罚息) at most the cap of 24% a year (`rate_above_cap`).",
}


@router.post(
    "/products",
    status_code=201,
    summary="Add a loan product (refused above the rate cap)",
    description="The same product again (identical terms) answers the product as it is.",
    response_model=LoanProduct,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": PRODUCT_BODY}}}},
)
async def add_product(
    request: Request, engine: EngineDep, principal: Operator, data: Annotated[dict[str, Any], Body()]
):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, LoanProduct.shape(service.create_product(uow, data)))

    return await run_mutation(request, engine, principal, "lending.add_product", str(data.get("code"))[:64], work)


# -- applications, offers, acceptance --------------------------------------------------------------


@router.post(
    "/applications",
    status_code=201,
    summary="Apply for a loan; the risk decision comes back",
    description="For a product whose `channel` is direct (GET /v1/lending/products). A product drawn only "
    "through a credit line (pay later, instalments) is refused with 422 `product_not_for_direct_application` "
    "and nothing is stored: it is used at checkout (POST /v1/lending/checkout/{qr_id}) or by a draw on the "
    "line (POST /v1/lending/lines/{line_id}/draws), where its plan and fees are disclosed.",
    response_model=Application,
)
async def apply(body: ApplicationIn, request: Request, engine: EngineDep, principal: Customer):
    _self(principal, body.customer_id)
    amount = _amount(body.amount)
    income = _amount(body.annual_income) if body.annual_income is not None else None

    def work(uow: UnitOfWork) -> Outcome:
        service.require_verified(uow.connection, principal.id)
        return Outcome(
            201, Application.shape(service.apply(uow, principal.id, body.product_code, amount, body.term, income))
        )

    return await run_mutation(request, engine, principal, "lending.apply", body.product_code, work)


@router.get("/applications/{application_id}", summary="An application and its decision", response_model=Application)
async def application(application_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    row = await _reader(engine, lambda c: service.get_application(c, application_id))
    _may_read(principal, row["customer_id"], ApplicationNotFound(f"application {application_id} not found"))
    return service.application_json(row)


@router.post(
    "/applications/{application_id}/offers",
    status_code=201,
    summary="An offer with the disclosure: nominal and annualized (IRR) rate, totals, schedule",
    response_model=Offer,
)
async def offer(application_id: Ident, request: Request, engine: EngineDep, principal: Customer):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, Offer.shape(service.make_offer(uow, application_id, principal.id)))

    return await run_mutation(request, engine, principal, "lending.offer", application_id, work)


@router.get(
    "/offers",
    summary="Offers: a customer's own, or every offer for staff; newest first",
    description="Each offer with its disclosure, what it is for (product, amount, term) and its status as it "
    "reads now (`open`, `accepted` with its `loan_id`, `superseded`); the last 500.",
    response_model=list[Offer],
)
async def offers(engine: EngineDep, principal: Caller) -> list[dict]:
    if principal.role != "customer" and not principal.is_staff:
        raise Forbidden("only customers and staff see offers")
    owner = None if principal.is_staff else principal.id
    return await _reader(engine, lambda c: service.list_offers(c, owner))


@router.get("/offers/{offer_id}", summary="An offer", response_model=Offer)
async def read_offer(offer_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    row = await _reader(engine, lambda c: service.get_offer(c, offer_id))
    _may_read(principal, row["customer_id"], OfferNotFound(f"offer {offer_id} not found"))
    return service.offer_json(row)


@router.post(
    "/offers/{offer_id}/accept",
    status_code=201,
    summary="Accept the contract; the loan is disbursed to the caller's wallet",
    response_model=Loan,
)
async def accept(offer_id: Ident, request: Request, engine: EngineDep, principal: Customer):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, Loan.shape(service.accept(uow, offer_id, principal.id)))

    return await run_mutation(request, engine, principal, "lending.accept", offer_id, work)


# -- loans -----------------------------------------------------------------------------------------


@router.get("/loans", summary="Loans: a customer's own, or every loan for staff", response_model=list[Loan])
async def loans(engine: EngineDep, principal: Caller) -> list[dict]:
    if principal.role != "customer" and not principal.is_staff:
        raise Forbidden("only customers and staff see loans")
    owner = None if principal.is_staff else principal.id
    return await _reader(engine, lambda c: service.list_loans(c, owner))


async def _loan(engine: Engine, principal: Principal, loan_id: str) -> dict:
    row = await _reader(engine, lambda c: service.loan_row(c, loan_id))
    _may_read(principal, row["customer_id"], LoanNotFound(f"loan {loan_id} not found"))
    return row


@router.get("/loans/{loan_id}", summary="A loan", response_model=Loan)
async def loan(loan_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    await _loan(engine, principal, loan_id)
    return await _reader(engine, lambda c: service.get_loan(c, loan_id))


@router.get(
    "/loans/{loan_id}/schedule", summary="The repayment schedule with what was paid", response_model=list[Instalment]
)
async def schedule(loan_id: Ident, engine: EngineDep, principal: Caller) -> list[dict]:
    await _loan(engine, principal, loan_id)
    return await _reader(engine, lambda c: service.schedule_of(c, loan_id))


@router.get(
    "/loans/{loan_id}/statement",
    summary="Outstanding principal, interest, fees, penalties; paid to date",
    response_model=LoanStatement,
)
async def statement(loan_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    await _loan(engine, principal, loan_id)
    return await _reader(engine, lambda c: statements.statement(c, loan_id).as_json())


@router.get(
    "/loans/{loan_id}/payoff",
    summary="The payoff quote: what repaying the whole loan early takes today, part by part",
    description="Principal, interest to date, fees, penalty and the early repayment fee (提前还款违约金), and "
    "their total: a repayment of kind `early_full` today takes exactly `total` (the same computation). A loan "
    "paid off or written off has none (409 `loan_closed`).",
    response_model=LoanPayoff,
)
async def payoff(loan_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    await _loan(engine, principal, loan_id)
    return await _reader(engine, lambda c: repayments.payoff_quote(c, loan_id))


@router.post(
    "/loans/{loan_id}/repayments", status_code=201, summary="Repay from the caller's wallet", response_model=Repayment
)
async def repay(loan_id: Ident, body: RepaymentIn, request: Request, engine: EngineDep, principal: Customer):
    _self(principal, body.from_customer_id)
    amount = _amount(body.amount) if body.amount is not None else None

    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, Repayment.shape(repayments.repay(uow, loan_id, principal.id, amount, body.kind)))

    return await run_mutation(request, engine, principal, "lending.repay", loan_id, work)


@router.post(
    "/eod",
    summary="Run end of day for a business date (once; again changes nothing)",
    description="The date must be over (before today's business date) and not before the last date run; "
    "days skipped since the last run run first, one by one (`caught_up`).",
    response_model=LendingEodRun,
)
async def end_of_day(body: EodIn, request: Request, engine: EngineDep, principal: Operator):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, LendingEodRun.shape(eod.run_in(uow, body.business_date).as_json()))

    return await run_mutation(request, engine, principal, "lending.eod", body.business_date.isoformat(), work)
