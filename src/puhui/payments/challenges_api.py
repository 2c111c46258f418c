"""The payer's side of a step-up challenge (核身) under /v1/payments/challenges: read it, answer it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui.api.deps import Customer, EngineDep
from puhui.api.fields import Money, Schema, Timestamp
from puhui.api.mutations import Outcome, run_mutation
from puhui.db import UnitOfWork, reading
from puhui.identity.errors import PaymentPasswordInvalid
from puhui.identity.sessions import confirm_password
from puhui.payments import challenges, service
from puhui.payments.verification import PaymentPassword

router = APIRouter(prefix="/v1/payments/challenges", tags=["payments"])


ChallengeId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^(p2p|qrp)_[A-Za-z0-9._:\-]+$")]
"""A challenge is named by the payment it holds (`qrp_…`, `p2p_…`): never a word like `refunds`, which
`/v1/payments/{payment_id}/refunds` answers."""


class PaymentChallenge(Schema):
    """A payment parked until its payer passes a step-up check (核身): `challenged` waits for the
    answer; `passed` made the payment (`payment_id`); `failed` (too many wrong answers) and `expired`
    declined it and moved no money."""

    challenge_id: str
    status: Literal["challenged", "passed", "failed", "expired"]
    method: Literal["sms", "password"]
    kind: str
    payer_id: str
    payee_id: str
    amount: Money
    currency: Literal["CNY"]
    attempts_left: int
    payment_id: str | None
    created_at: Timestamp
    expires_at: Timestamp


class ChallengeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[StrictStr, Field(pattern=r"^[0-9]{6}$", description="the code texted to the payer")] | None = None
    password: PaymentPassword | None = None


@router.get("/{challenge_id}", summary="The caller's payment challenge (核身)", response_model=PaymentChallenge)
async def read_challenge(challenge_id: ChallengeId, engine: EngineDep, principal: Customer) -> dict:
    def read() -> dict:
        with reading(engine) as connection:
            return PaymentChallenge.shape(
                challenges.challenge_json(challenges.find_for(connection, challenge_id, principal.id))
            )

    return await run_in_threadpool(read)


def _password_ok(engine: Engine, customer_id: str, password: str | None) -> bool | None:
    if password is None:
        return None
    try:
        confirm_password(engine, customer_id, password)
    except PaymentPasswordInvalid:
        return False
    return True


@router.post(
    "/{challenge_id}",
    summary="Answer a payment challenge (核身): the right factor makes the payment, once",
    response_model=PaymentChallenge,
)
async def answer_challenge(
    challenge_id: ChallengeId, body: ChallengeAnswer, request: Request, engine: EngineDep, principal: Customer
):
    password_ok = await run_in_threadpool(_password_ok, engine, principal.id, body.password)

    def work(uow: UnitOfWork) -> Outcome:
        row = challenges.answer(uow, challenge_id, principal.id, body.code, password_ok, service.complete_held_payment)
        return Outcome(200, PaymentChallenge.shape(challenges.challenge_json(row)))

    return await run_mutation(request, engine, principal, "payments.answer_challenge", challenge_id, work)
