"""The review queue (人工审核) over HTTP: payments risk control held for a person to decide.

Risk officers (and admins) approve or reject; operators and the regulator read the queue; a payer
reads the reviews of their own payments.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import (
    Caller,
    EngineDep,
    Officer,
    Principal,
    SettingsDep,
    require_roles,
)
from puhui.api.mutations import Outcome, run_mutation
from puhui.db import UnitOfWork, reading
from puhui.errors import Forbidden
from puhui.payments import reviews
from puhui.payments import service as payments
from puhui.payments.schemas import HeldPayment, Review, ReviewQueue
from puhui.settings import Settings

router = APIRouter(prefix="/v1/risk", tags=["risk reviews"])

Reader = Annotated[Principal, Depends(require_roles("risk_officer", "operator", "regulator", "admin"))]
ReviewId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(min_length=1, max_length=1000)]


@router.get(
    "/reviews",
    summary="The review queue (those under review, first in first out), or reviews by status",
    response_model=ReviewQueue,
)
async def list_reviews(
    engine: EngineDep,
    principal: Reader,
    status: Annotated[
        Literal["under_review", "pending", "approved", "rejected", "expired"],
        Query(description="`under_review` (the default), as a held payment's answer says; `pending`, its old alias"),
    ] = "under_review",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            rows = reviews.queue(connection, status, limit)
        return {"status": status, "reviews": [reviews.review_json(r) for r in rows]}

    return await run_in_threadpool(read)


@router.get(
    "/reviews/{review_id}",
    summary="One review (its payer may read it too, without the reasons)",
    response_model=Review | HeldPayment,
    response_model_exclude_unset=True,
)
async def read_review(review_id: ReviewId, engine: EngineDep, principal: Caller) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            row = reviews.find(connection, review_id)
        if row is None:
            raise reviews.ReviewNotFound(f"payment review {review_id} not found")
        staff = principal.role in ("risk_officer", "operator", "regulator", "admin")
        if not staff and not (principal.role == "customer" and row["payer_id"] == principal.id):
            raise Forbidden("a review is for risk staff and its payer")
        return reviews.review_json(row) if staff else reviews.review_for_payer(row)

    return await run_in_threadpool(read)


async def _decide(
    decision: Literal["approve", "reject"],
    review_id: str,
    body: DecisionIn,
    request: Request,
    engine: Engine,
    settings: Settings,
    principal: Principal,
):
    def work(uow: UnitOfWork) -> Outcome:
        if decision == "approve":
            row = payments.approve_review(uow, review_id, principal.id, body.note)
        else:
            row = reviews.reject(uow, review_id, principal.id, body.note)
        wanted = "approved" if decision == "approve" else "rejected"
        if row["status"] != wanted:  # the hold ran out first; the expiry is kept
            problem = reviews.ReviewNotPending(f"review {review_id} is {row['status']}")
            return Outcome(
                409,
                {
                    "type": "https://puhui.dev/problems/" + problem.code,
                    "title": problem.title,
                    "status": 409,
                    "code": problem.code,
                    "detail": problem.detail,
                },
                problem=True,
            )
        return Outcome(200, Review.shape(reviews.review_json(row)))

    return await run_mutation(request, engine, principal, f"risk.review_{decision}", review_id, work)


@router.post("/reviews/{review_id}/approve", summary="Approve: the held payment is made", response_model=Review)
async def approve(
    review_id: ReviewId,
    body: DecisionIn,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: Officer,
):
    return await _decide("approve", review_id, body, request, engine, settings, principal)


@router.post(
    "/reviews/{review_id}/reject",
    summary="Reject: the hold is voided, the payer keeps the money",
    response_model=Review,
)
async def reject(
    review_id: ReviewId,
    body: DecisionIn,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: Officer,
):
    return await _decide("reject", review_id, body, request, engine, settings, principal)
