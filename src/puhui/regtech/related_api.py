"""/v1/regtech/related-parties: lenders' related parties for the self-financing rule (compliance)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import (
    EngineDep,
    Officer,
    Staff,
)
from puhui.api.fields import Ident
from puhui.api.mutations import Outcome, run_mutation
from puhui.db import UnitOfWork, reading
from puhui.regtech import related
from puhui.regtech.schemas import RelatedParties, RelatedPartyAdded, RelatedPartyRemoved

router = APIRouter(prefix="/v1/regtech/related-parties", tags=["regtech"])


@router.get("", summary="Related parties, per lender", response_model=RelatedParties)
async def list_related(
    engine: EngineDep, principal: Staff, lender: Annotated[str | None, Query(max_length=64)] = None
) -> dict:
    def read() -> list[dict]:
        with reading(engine) as connection:
            return related.listing(connection, lender)

    return {"related_parties": await run_in_threadpool(read)}


@router.post(
    "",
    status_code=201,
    summary="Register a lender's related party (关联方)",
    response_model=RelatedPartyAdded,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": related.RelatedPartyIn.model_json_schema()}},
        }
    },
)
async def add_related(body: Annotated[Any, Body()], request: Request, engine: EngineDep, principal: Officer):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(201, RelatedPartyAdded.shape(related.add(uow, body, principal.id)))

    return await run_mutation(request, engine, principal, "regtech.related_party_added", "related", work)


@router.delete("/{lender}/{party}", summary="Remove a related party", response_model=RelatedPartyRemoved)
async def remove_related(lender: Ident, party: Ident, request: Request, engine: EngineDep, principal: Officer):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, RelatedPartyRemoved.shape(related.remove(uow, lender, party)))

    return await run_mutation(request, engine, principal, "regtech.related_party_removed", f"{lender}:{party}", work)
