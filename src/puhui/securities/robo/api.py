"""Robo-advice as trades over HTTP under /v1/securities/robo (智能投顾): a customer subscribes an amount
to the model ETF portfolio of their level, reads its holdings and drift, rebalances (idempotent by
key) and reads the report; an operator marks every portfolio at the close."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from puhui.api.deps import Customer, EngineDep, Operator
from puhui.api.fields import AmountStr, ClientId
from puhui.api.mutations import Outcome, client_id_of, run_mutation
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.money import format_minor, parse_minor
from puhui.securities.robo import service
from puhui.securities.robo.schemas import RoboMarked, RoboProposal, RoboRebalance, RoboReport, RoboStatus

router = APIRouter(prefix="/v1/securities/robo", tags=["securities"])


class RoboSubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: AmountStr
    level: Annotated[Literal["C1", "C2", "C3", "C4", "C5"] | None, Field(description="default: the customer's")] = None
    client_id: ClientId | None = None


class RoboRebalanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: ClientId | None = None


def _places(value: Decimal, places: int) -> str:
    return f"{value:.{places}f}"


def status_json(status: dict[str, Any]) -> dict[str, Any]:
    lines = [
        {
            **h,
            "value": format_minor(h["value"], 2),
            **{k: _places(h[k], 4) for k in ("weight", "target", "drift")},
        }
        for h in status["holdings"]
    ]
    money = {k: format_minor(status[k], 2) for k in ("amount", "cash", "value")}
    return {**status, **money, "threshold": _places(status["threshold"], 4), "holdings": lines}


def report_json(report: dict[str, Any]) -> dict[str, Any]:
    return {
        **report,
        "days": [{"day": d["day"], "value": format_minor(d["value"], 2)} for d in report["days"]],
        "time_weighted_return": _places(report["time_weighted_return"], 6),
        "benchmark_return": _places(report["benchmark_return"], 6),
        "fees_paid": format_minor(report["fees_paid"], 2),
    }


def proposal_json(proposal: dict[str, Any]) -> dict[str, Any]:
    least = proposal["minimum_amount"]
    return {
        **proposal,
        "targets": [{**t, "weight": _places(t["weight"], 4)} for t in proposal["targets"]],
        "minimum_amount": format_minor(least, 2) if least is not None else None,
    }


@router.get(
    "/proposal",
    summary="The target ETF portfolio a subscription would buy, and its least amount (投资建议)",
    response_model=RoboProposal,
)
async def read_proposal(
    engine: EngineDep,
    principal: Customer,
    level: Annotated[Literal["C1", "C2", "C3", "C4", "C5"] | None, Query(description="default: the customer's")] = None,
) -> dict[str, Any]:
    return await _read(engine, lambda c: proposal_json(service.proposal(c, principal.id, level)))


@router.post(
    "/subscriptions",
    status_code=201,
    summary="Subscribe an amount to the model ETF portfolio and buy it (智能投顾建仓)",
    response_model=RoboStatus,
)
async def subscribe(body: RoboSubscriptionIn, request: Request, engine: EngineDep, principal: Customer) -> Response:
    amount = parse_minor(body.amount, 2)
    client_id = client_id_of(request, body.client_id)[:64]

    def work(uow: UnitOfWork) -> Outcome:
        answer = service.subscribe(uow, principal.id, amount, client_id, body.level)
        return Outcome(201, RoboStatus.shape(status_json(answer)))

    return await run_mutation(request, engine, principal, "securities.robo_subscribe", principal.id, work)


@router.get("", summary="The robo portfolio's holdings, weights and drift (持仓与偏离度)", response_model=RoboStatus)
async def read_status(engine: EngineDep, principal: Customer) -> dict[str, Any]:
    return await _read(engine, lambda c: status_json(service.status(c, principal.id)))


@router.post(
    "/rebalance",
    summary="Rebalance when a weight drifted beyond the threshold, sells first (再平衡)",
    response_model=RoboRebalance,
)
async def rebalance(body: RoboRebalanceIn, request: Request, engine: EngineDep, principal: Customer) -> Response:
    client_id = client_id_of(request, body.client_id)[:64]

    def work(uow: UnitOfWork) -> Outcome:
        answer = service.rebalance(uow, principal.id, client_id)
        return Outcome(200, RoboRebalance.shape({**status_json(answer), "run": answer["run"]}))

    return await run_mutation(request, engine, principal, "securities.robo_rebalance", principal.id, work)


@router.get("/report", summary="Performance net of fees against the model portfolio", response_model=RoboReport)
async def read_report(engine: EngineDep, principal: Customer) -> dict[str, Any]:
    return await _read(engine, lambda c: report_json(service.report(c, principal.id)))


@router.post("/marks", summary="Mark every robo portfolio at today's prices (the close)", response_model=RoboMarked)
async def mark_all(request: Request, engine: EngineDep, principal: Operator) -> Response:
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, RoboMarked.shape({"customers": service.mark_all(uow)}))

    return await run_mutation(request, engine, principal, "securities.robo_mark", None, work)
