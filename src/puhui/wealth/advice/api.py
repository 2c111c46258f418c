"""Suitability and advice HTTP API under /v1/wealth: the risk questionnaire, a customer's
suitability, and the robo-advisor's target portfolio.

- `GET  /questionnaire`              the current questionnaire (any authenticated caller)
- `POST /questionnaire/answers`      a customer answers it; stores the score and level (idempotent, audited)
- `GET  /suitability/{customer_id}`  level, validity, wallet class, what may be bought (the customer or staff)
- `POST /advice`                     the customer's target weights over the platform's funds; computes,
                                     stores nothing (the funds come from `advisor.fund_universe`)
- `POST /advice/invest`              buy the target portfolio with money from the wallet (fund orders)
- `POST /advice/rebalance`           sell what drifted over the target, buy what is under it
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import (
    Caller,
    Customer,
    EngineDep,
)
from puhui.api.fields import AmountStr, Ident
from puhui.api.mutations import Outcome, client_id_of, run_mutation
from puhui.db import UnitOfWork, reading
from puhui.errors import Forbidden
from puhui.identity.http import vault_of
from puhui.wealth.advice import advisor
from puhui.wealth.advice.schemas import (
    Investment,
    Questionnaire,
    Rebalance,
    RiskAssessment,
    Suitability,
    TargetPortfolio,
)
from puhui.wealth.suitability import service as suitability

router = APIRouter(prefix="/v1/wealth", tags=["wealth advice"])

Key = Annotated[StrictStr, Field(min_length=1, max_length=32)]


class AnswersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Key = Field(description='the questionnaire version answered, e.g. "2026.2"')
    answers: dict[Key, Key] = Field(
        max_length=64,
        description='question id → choice key, e.g. {"income": "B"}; questions marked `from_id` (the age) are '
        "answered from the customer's resident ID, whatever is sent",
    )


class AdviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


@router.get("/questionnaire", summary="The current risk questionnaire (风险测评问卷)", response_model=Questionnaire)
async def questionnaire(principal: Caller) -> dict:
    return suitability.CURRENT.as_json()


@router.post(
    "/questionnaire/answers",
    status_code=201,
    summary="Answer the risk questionnaire (customer)",
    response_model=RiskAssessment,
)
async def answer(body: AnswersIn, request: Request, engine: EngineDep, principal: Customer):
    """The age is read from the customer's resident ID: an age answer sent is ignored, and may be left out."""
    vault = vault_of(request)

    def work(uow: UnitOfWork) -> Outcome:
        row = suitability.record_answers(uow, principal.id, body.version, dict(body.answers), vault=vault)
        return Outcome(201, RiskAssessment.shape(suitability.assessment_json(row)))

    return await run_mutation(request, engine, principal, "wealth.questionnaire_answers", principal.id, work)


@router.get(
    "/suitability/{customer_id}", summary="A customer's risk level and what they may buy", response_model=Suitability
)
async def read_suitability(customer_id: Ident, engine: EngineDep, principal: Caller) -> dict:
    if not principal.is_staff and principal.id != customer_id:
        raise Forbidden("a customer sees only their own suitability")

    def read() -> dict:
        with reading(engine) as connection:
            return suitability.suitability_json(connection, customer_id)

    return await run_in_threadpool(read)


@router.post(
    "/advice", summary="Target portfolio for the customer's risk level (智能投顾)", response_model=TargetPortfolio
)
async def advice(engine: EngineDep, principal: Customer, body: AdviceIn | None = None) -> dict:
    def compute() -> dict:
        with reading(engine) as connection:
            level = suitability.require_level(connection, principal.id)
            universe = advisor.fund_universe(connection)
        return advisor.target_portfolio(universe, level).as_json()

    return await run_in_threadpool(compute)


class InvestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr
    client_id: Key | None = None


class RebalanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: Annotated[float, Field(gt=0, lt=1)] = 0.05
    client_id: Key | None = None


def _target(engine: Engine, customer_id: str) -> advisor.TargetPortfolio:
    with reading(engine) as connection:
        level = suitability.require_level(connection, customer_id)
        universe = advisor.fund_universe(connection)
    return advisor.target_portfolio(universe, level)


@router.post(
    "/advice/invest",
    status_code=201,
    summary="Buy the target portfolio with money from the wallet",
    response_model=Investment,
)
async def invest(body: InvestIn, request: Request, engine: EngineDep, principal: Customer):
    from puhui.money import parse_minor
    from puhui.wealth.advice import orders as advice_orders

    amount, client_id = parse_minor(body.amount, 2), client_id_of(request, body.client_id)
    target = await run_in_threadpool(_target, engine, principal.id)

    def work(uow: UnitOfWork) -> Outcome:
        orders = advice_orders.invest(uow, principal.id, amount, target, client_id)
        from puhui.wealth.funds.orders import order_json

        return Outcome(201, Investment.shape({"target": target.as_json(), "orders": [order_json(o) for o in orders]}))

    return await run_mutation(request, engine, principal, "wealth.advice_invest", principal.id, work)


@router.post(
    "/advice/rebalance",
    summary="Rebalance the holdings back to the target when they drifted",
    response_model=Rebalance,
)
async def rebalance(body: RebalanceIn, request: Request, engine: EngineDep, principal: Customer):
    from puhui.wealth.advice import orders as advice_orders

    client_id = client_id_of(request, body.client_id)
    target = await run_in_threadpool(_target, engine, principal.id)

    def work(uow: UnitOfWork) -> Outcome:
        done = advice_orders.rebalance(uow, principal.id, target, body.threshold, client_id)
        return Outcome(200, Rebalance.shape({"target": target.as_json(), **done}))

    return await run_mutation(request, engine, principal, "wealth.advice_rebalance", principal.id, work)
