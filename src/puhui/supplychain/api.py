"""The supply-chain finance HTTP API under /v1/supplychain.

Operators register core enterprises (核心企业) with a limit and a discount rate; a core enterprise
(merchant API key) confirms payables, sets money aside for them in its payables funds (兑付资金, topped up
from its settlement account through the bank) and pays them at maturity; the supplier (merchant API key)
finances its receivables and reads them; staff read everything. Amounts are decimal strings.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from puhui.api.deps import (
    EngineDep,
    Merchant,
    Operator,
    Principal,
    require_roles,
)
from puhui.api.fields import AmountStr, Limit
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.money import parse_positive_minor as _amount
from puhui.payments import wallets
from puhui.payments.api import MerchantTopUpIn, merchant_funds_order, merchant_funds_orders
from puhui.payments.bank.channel import OrderKind
from puhui.payments.schemas import BankOrder
from puhui.supplychain import errors, models, service
from puhui.supplychain.schemas import CoreEnterprise, PayablesFunds, Receivable

router = APIRouter(prefix="/v1/supplychain", tags=["supplychain"])

STAFF = ("operator", "risk_officer", "regulator", "admin")
Reader = Annotated[Principal, Depends(require_roles("merchant", *STAFF))]
IdPattern = r"^[A-Za-z0-9._:\-]+$"
Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=IdPattern)]


class CoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    merchant_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=IdPattern)]
    credit_limit: AmountStr = Field(description="授信额度, CNY")
    discount_rate: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=16,
            description='annual discount rate (年贴现率) as a fraction, e.g. "0.06": above 0, at most the cap',
            json_schema_extra={"pattern": r"^\s*0?\.[0-9]{1,6}\s*$"},
        ),
    ]


class PayableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    supplier_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=IdPattern)]
    face_amount: AmountStr
    maturity_date: dt.date
    invoice_ref: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=IdPattern)]


@router.post(
    "/core-enterprises",
    status_code=201,
    summary="Register a core enterprise or change its limit and rate",
    response_model=CoreEnterprise,
)
async def register_core(body: CoreIn, request: Request, engine: EngineDep, principal: Operator):
    limit = _amount(body.credit_limit, "credit_limit")
    rate = models.parse_rate(body.discount_rate)

    def work(uow: UnitOfWork) -> Outcome:
        row, created = service.register_core(uow, body.merchant_id, limit, rate, principal.id)
        return Outcome(201 if created else 200, CoreEnterprise.shape(service.core_json(row)))

    return await run_mutation(request, engine, principal, "supplychain.register_core", body.merchant_id, work)


@router.get(
    "/core-enterprises/me",
    summary="The calling core enterprise's limit and use",
    response_model=CoreEnterprise,
)
async def read_own_core(engine: EngineDep, principal: Merchant) -> dict:
    return service.core_json(await _read(engine, lambda c: service.get_core(c, principal.id)))


@router.get(
    "/core-enterprises/{merchant_id}",
    summary="A core enterprise's limit and use (itself or staff)",
    response_model=CoreEnterprise,
)
async def read_core(merchant_id: Ident, engine: EngineDep, principal: Reader) -> dict:
    if not principal.is_staff and principal.id != merchant_id:
        raise errors.CoreEnterpriseNotFound(f"{merchant_id} is not a core enterprise")
    return service.core_json(await _read(engine, lambda c: service.get_core(c, merchant_id)))


PAYABLES_FUNDS = "/core-enterprises/me/payables-funds"


async def _core_itself(engine: EngineDep, principal: Principal) -> None:
    """The caller is a registered core enterprise (else 404 `core_enterprise_not_found`)."""
    await _read(engine, lambda c: service.get_core(c, principal.id))


@router.post(
    PAYABLES_FUNDS + "/top-ups",
    status_code=202,
    summary="Set money aside for payables (兑付资金): a top-up from the core enterprise's settlement account",
    response_model=BankOrder,
)
async def payables_top_up(body: MerchantTopUpIn, request: Request, engine: EngineDep, principal: Merchant):
    """The bank debits the core enterprise's settlement account and the money lands in its payables funds once
    the bank confirms (pending until then): paying a receivable at maturity draws on them first, then on the
    wallet, and nothing else spends them. At most 5,000,000.00 an order (422 `amount_above_order_maximum`).
    Idempotent by `Idempotency-Key` (or `client_order_id`)."""
    await _core_itself(engine, principal)
    return await merchant_funds_order(
        body, request, engine, principal, wallets.PAYABLES_FUNDS, OrderKind.debit_card, "supplychain.payables_top_up"
    )


@router.post(
    PAYABLES_FUNDS + "/withdrawals",
    status_code=202,
    summary="Withdraw payables funds no payment needs back to the core enterprise's settlement account",
    response_model=BankOrder,
)
async def payables_withdrawal(body: MerchantTopUpIn, request: Request, engine: EngineDep, principal: Merchant):
    """Held at once (a maturity payment cannot use the money meanwhile), paid by the bank, released if the bank
    fails the order. At most what is available (409 `payables_funds_insufficient`). Idempotent by
    `Idempotency-Key` (or `client_order_id`)."""
    await _core_itself(engine, principal)
    return await merchant_funds_order(
        body,
        request,
        engine,
        principal,
        wallets.PAYABLES_FUNDS,
        OrderKind.credit_card,
        "supplychain.payables_withdrawal",
    )


@router.get(
    PAYABLES_FUNDS,
    summary="The core enterprise's payables funds: what they can pay, what is on its way, the latest orders",
    response_model=PayablesFunds,
)
async def payables_funds(request: Request, engine: EngineDep, principal: Merchant, limit: Limit = 20) -> dict:
    await _core_itself(engine, principal)
    funds = wallets.PAYABLES_FUNDS
    balance = await _read(engine, lambda c: wallets.funds_json(c, funds.account_id(principal.id)))
    top_ups = await merchant_funds_orders(
        request, engine, principal.id, OrderKind.debit_card, funds.top_up_prefix, limit
    )
    withdrawals = await merchant_funds_orders(
        request, engine, principal.id, OrderKind.credit_card, funds.withdrawal_prefix, limit
    )
    return {**balance, "top_ups": top_ups, "withdrawals": withdrawals}


@router.post(
    "/receivables",
    status_code=201,
    summary="Confirm a payable to a supplier (the core enterprise)",
    response_model=Receivable,
)
async def confirm(body: PayableIn, request: Request, engine: EngineDep, principal: Merchant):
    face = _amount(body.face_amount, "face_amount")

    def work(uow: UnitOfWork) -> Outcome:
        row, created = service.confirm(uow, principal.id, body.supplier_id, face, body.maturity_date, body.invoice_ref)
        return Outcome(201 if created else 200, Receivable.shape(service.receivable_json(row)))

    return await run_mutation(request, engine, principal, "supplychain.confirm", body.invoice_ref, work)


@router.get(
    "/receivables",
    summary="Receivables: a merchant sees its own (as core or supplier); staff see all",
    response_model=list[Receivable],
)
async def list_receivables(
    engine: EngineDep,
    principal: Reader,
    core_id: Annotated[str | None, Query(max_length=64, pattern=IdPattern)] = None,
    supplier_id: Annotated[str | None, Query(max_length=64, pattern=IdPattern)] = None,
    status: models.Status | None = None,
    limit: Annotated[
        int | None, Query(ge=1, le=1000, description="at most this many, soonest maturity first (default: all)")
    ] = None,
) -> list[dict]:
    party = None if principal.is_staff else principal.id
    rows = await _read(
        engine,
        lambda c: service.list_receivables(
            c,
            core_id=core_id,
            supplier_id=supplier_id,
            party=party,
            status=status.value if status else None,
            limit=limit,
        ),
    )
    return [service.receivable_json(r) for r in rows]


@router.get(
    "/receivables/{receivable_id}",
    summary="A receivable (its core enterprise, its supplier, or staff)",
    response_model=Receivable,
)
async def read_receivable(receivable_id: Ident, engine: EngineDep, principal: Reader) -> dict:
    party = None if principal.is_staff else principal.id
    return service.receivable_json(await _read(engine, lambda c: service.get_receivable(c, receivable_id, party)))


@router.post(
    "/receivables/{receivable_id}/financing",
    status_code=201,
    summary="Sell the receivable to the platform at a discount (the supplier)",
    response_model=Receivable,
)
async def finance(receivable_id: Ident, request: Request, engine: EngineDep, principal: Merchant):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(
            201, Receivable.shape(service.receivable_json(service.finance(uow, principal.id, receivable_id)))
        )

    return await run_mutation(request, engine, principal, "supplychain.finance", receivable_id, work)


@router.post(
    "/receivables/{receivable_id}/payment",
    summary="Pay the face amount at maturity (the core enterprise)",
    response_model=Receivable,
)
async def pay(receivable_id: Ident, request: Request, engine: EngineDep, principal: Merchant):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, Receivable.shape(service.receivable_json(service.pay(uow, principal.id, receivable_id))))

    return await run_mutation(request, engine, principal, "supplychain.pay", receivable_id, work)
