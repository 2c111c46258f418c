"""Credit models over HTTP under /v1/risk: list models and cards, promote a champion, score an applicant.

Staff read the registry; a risk officer (or an administrator) promotes, through `run_mutation`
(idempotent, audited); risk officers and operators score. A score comes with its PD as a decimal
string, the risk grade and the reasons that cost the most points.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import MAX_JSON_INT, EngineDep, Principal, require_roles
from puhui.api.mutations import Outcome, run_mutation
from puhui.db import UnitOfWork, reading
from puhui.risk.scoring import registry, service
from puhui.risk.scoring.platform import PLATFORM_MODEL
from puhui.risk.scoring.schemas import CustomerScore, Model, Models, ModelWithCard, Score

router = APIRouter(prefix="/v1/risk", tags=["risk"])

READERS = ("operator", "risk_officer", "regulator", "admin")
PROMOTERS = ("risk_officer", "admin")
SCORERS = ("risk_officer", "operator", "admin")

Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Promoter = Annotated[Principal, Depends(require_roles(*PROMOTERS))]
Scorer = Annotated[Principal, Depends(require_roles(*SCORERS))]
ModelId = Annotated[int, Path(ge=1, le=MAX_JSON_INT)]
ModelName = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    features: dict[str, Any] = Field(
        ...,
        description="feature name -> value (numbers for numeric features, "
        "one of the known categories for categorical ones)",
    )
    model_id: Annotated[int, Field(ge=1, le=MAX_JSON_INT)] | None = Field(None, description="default: the champion")
    name: ModelName = Field(
        PLATFORM_MODEL,
        description=f"scored by this name's champion: {PLATFORM_MODEL}, the platform's model (as `puhui risk score` "
        "does), or the name a model was trained under (`puhui risk train --data`: credit)",
    )


class CustomerScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_id: Annotated[int, Field(ge=1, le=MAX_JSON_INT)] | None = Field(None, description="default: the champion")
    name: ModelName = PLATFORM_MODEL


@router.post(
    "/customers/{customer_id}/score",
    summary="Score a customer from their platform profile now: score, PD, grade and reasons",
    response_model=CustomerScore,
)
async def score_customer(
    customer_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")],
    body: CustomerScoreIn,
    engine: EngineDep,
    principal: Scorer,
) -> dict:
    from puhui.risk.scoring.platform import score_customer as score_of

    def read() -> dict:
        with reading(engine) as connection:
            return score_of(connection, customer_id, None, body.model_id, body.name)

    return await run_in_threadpool(read)


@router.get(
    "/models", summary="Registered credit models (staff)", response_model=Models, response_model_exclude_unset=True
)
async def list_models(engine: EngineDep, principal: Reader) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            return {"models": [r.as_json() for r in registry.list_models(connection)]}

    return await run_in_threadpool(read)


@router.get(
    "/models/{model_id}",
    summary="A credit model with its model card (staff)",
    response_model=ModelWithCard,
    response_model_exclude_unset=True,
)
async def read_model(model_id: ModelId, engine: EngineDep, principal: Reader) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            return registry.get(connection, model_id).as_json(with_card=True)

    return await run_in_threadpool(read)


@router.post(
    "/models/{model_id}/promote",
    summary="Make a model the champion; the previous one is retired",
    response_model=Model,
)
async def promote(model_id: ModelId, request: Request, engine: EngineDep, principal: Promoter):
    def work(uow: UnitOfWork) -> Outcome:
        return Outcome(200, Model.shape(registry.promote(uow, model_id).as_json()))

    return await run_mutation(request, engine, principal, "risk.promote_model", str(model_id), work)


@router.post("/scores", summary="Score an applicant: score (350–950), PD, grade and reasons", response_model=Score)
async def score(body: ScoreIn, engine: EngineDep, principal: Scorer) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            return service.score(connection, body.features, body.model_id, body.name)

    return await run_in_threadpool(read)
